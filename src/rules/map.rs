//! A map of the config (spec section 14): a table from keys to values,
//! looked up in constant time whatever its size. Values sit in one buffer so
//! a 100,000-entry map costs one allocation per key, not three per entry.

use std::collections::HashMap;

/// A compiled `map NAME …`, shared (`Arc`) by every test and template that
/// names it.
#[derive(Debug, Clone, Default)]
pub struct Map {
    name: String,
    keys: HashMap<Box<str>, u32>,
    values: String,
    ends: Vec<u32>,
}

impl Map {
    /// An empty map named `name`.
    pub fn new(name: &str) -> Self {
        Map {
            name: name.to_owned(),
            ..Map::default()
        }
    }

    /// An empty map with room for `entries` of about `bytes` value bytes.
    pub fn with_capacity(name: &str, entries: usize, bytes: usize) -> Self {
        Map {
            name: name.to_owned(),
            keys: HashMap::with_capacity(entries),
            values: String::with_capacity(bytes),
            ends: Vec::with_capacity(entries),
        }
    }

    /// Adds an entry; `false` (and nothing changes) when the key is there
    /// already or the map is full (4 Gi value bytes).
    pub fn insert(&mut self, key: &str, value: &str) -> bool {
        if self.keys.contains_key(key) {
            return false;
        }
        let (Ok(index), Ok(end)) = (
            u32::try_from(self.ends.len()),
            u32::try_from(self.values.len() + value.len()),
        ) else {
            return false;
        };
        self.values.push_str(value);
        self.ends.push(end);
        self.keys.insert(key.into(), index);
        true
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        let index = *self.keys.get(key)? as usize;
        let end = *self.ends.get(index)? as usize;
        let start = match index {
            0 => 0,
            _ => *self.ends.get(index - 1)? as usize,
        };
        self.values.get(start..end)
    }

    /// The map's own copy of `key`, when it is one.
    pub fn entries_key(&self, key: &str) -> Option<&str> {
        self.keys.get_key_value(key).map(|(key, _)| &**key)
    }

    /// Whether `key` is a key.
    pub fn contains(&self, key: &str) -> bool {
        self.keys.contains_key(key)
    }

    /// The map's name, for `explain`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many entries it has.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Every entry, in no particular order (for `check`'s chain warning).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.keys
            .keys()
            .filter_map(|key| self.get(key).map(|value| (&**key, value)))
    }

    /// Frees what insertion over-allocated.
    pub fn shrink(&mut self) {
        self.keys.shrink_to_fit();
        self.values.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// Two maps are equal when they have one name and the same entries.
impl PartialEq for Map {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.len() == other.len()
            && self
                .entries()
                .all(|(key, value)| other.get(key) == Some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_found_and_keys_stay_unique() {
        let mut map = Map::new("m");
        assert!(map.insert("/a", "/b"));
        assert!(map.insert("/c", ""));
        assert!(map.insert("/d", "/e"));
        assert!(!map.insert("/a", "/x"));
        assert_eq!(map.get("/a"), Some("/b"));
        assert_eq!(map.get("/c"), Some(""));
        assert_eq!(map.get("/d"), Some("/e"));
        assert_eq!(map.get("/x"), None);
        assert_eq!(map.len(), 3);
        assert_eq!(map.entries().count(), 3);
    }
}
