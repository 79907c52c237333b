//! Map files (spec section 14): CSV as RFC 4180 writes it, two fields a
//! record. Quoted fields may hold commas, `""` and line breaks; spaces belong
//! to the field; LF and CRLF both end a record; a UTF-8 byte-order mark at the
//! start is skipped; blank lines and lines starting with `#` are skipped where
//! a record would start. Every field keeps its offset, so a fault points at
//! the line and column where it is.

use std::borrow::Cow;

/// One field and where it starts in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvField<'a> {
    /// The value, quotes and `""` resolved.
    pub value: Cow<'a, str>,
    /// The offset of its first character (its opening quote, if quoted).
    pub start: usize,
    /// One past its last character (its closing quote, if quoted).
    pub end: usize,
}

/// One record: its fields, and the span of its first line (for a fault about
/// the record as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRecord<'a> {
    /// The fields in order.
    pub fields: Vec<CsvField<'a>>,
    /// Where the record starts.
    pub start: usize,
    /// Where its first line ends (before the line break).
    pub first_line_end: usize,
}

impl CsvRecord<'_> {
    /// The start and end of the record's first line, at most `limit` bytes
    /// of it (a caret under a 4 MiB line helps nobody), never empty and
    /// never splitting a character of `text`.
    pub fn first_line(&self, text: &str, limit: usize) -> (usize, usize) {
        let mut end = self.first_line_end.min(self.start + limit);
        while end > self.start && !text.is_char_boundary(end) {
            end -= 1;
        }
        if end <= self.start {
            end = self.start + text[self.start..].chars().next().map_or(0, char::len_utf8);
        }
        (self.start, end)
    }
}

/// A record the reader cannot make sense of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvFault {
    /// A quote inside an unquoted field, at this offset.
    QuoteInField(usize),
    /// Text after a closing quote, at this offset.
    AfterQuote(usize),
    /// A quoted field that never closes; its opening quote's offset.
    Unclosed(usize),
}

/// Reads records one at a time; after a fault it stops.
#[derive(Debug)]
pub struct CsvReader<'a> {
    text: &'a str,
    at: usize,
    failed: bool,
}

impl<'a> CsvReader<'a> {
    /// A reader over the whole text of a map file.
    pub fn new(text: &'a str) -> Self {
        let at = if text.starts_with('\u{FEFF}') { 3 } else { 0 };
        CsvReader {
            text,
            at,
            failed: false,
        }
    }

    /// Skips blank and comment lines where a record would start.
    fn skip_lines(&mut self) {
        let bytes = self.text.as_bytes();
        loop {
            match bytes.get(self.at) {
                Some(b'\n') => self.at += 1,
                Some(b'\r') if bytes.get(self.at + 1) == Some(&b'\n') => self.at += 2,
                Some(b'#') => self.at = line_end(bytes, self.at),
                _ => return,
            }
        }
    }

    fn record(&mut self) -> Result<CsvRecord<'a>, CsvFault> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut fields = Vec::with_capacity(2);
        loop {
            let field_start = self.at;
            let field = if bytes.get(self.at) == Some(&b'"') {
                self.quoted()?
            } else {
                self.unquoted()?
            };
            fields.push(CsvField {
                value: field,
                start: field_start,
                end: self.at,
            });
            match bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'\n') => {
                    self.at += 1;
                    break;
                }
                Some(b'\r') if bytes.get(self.at + 1) == Some(&b'\n') => {
                    self.at += 2;
                    break;
                }
                None => break,
                Some(_) => return Err(CsvFault::AfterQuote(self.at)),
            }
        }
        let first_line_end = line_end(bytes, start);
        let first_line_end =
            if first_line_end > start && bytes.get(first_line_end - 1) == Some(&b'\r') {
                first_line_end - 1
            } else {
                first_line_end
            };
        Ok(CsvRecord {
            fields,
            start,
            first_line_end,
        })
    }

    fn unquoted(&mut self) -> Result<Cow<'a, str>, CsvFault> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        while let Some(&byte) = bytes.get(self.at) {
            match byte {
                b',' | b'\n' => break,
                b'\r' if bytes.get(self.at + 1) == Some(&b'\n') => break,
                b'"' => return Err(CsvFault::QuoteInField(self.at)),
                _ => self.at += 1,
            }
        }
        Ok(Cow::Borrowed(&self.text[start..self.at]))
    }

    fn quoted(&mut self) -> Result<Cow<'a, str>, CsvFault> {
        let bytes = self.text.as_bytes();
        let open = self.at;
        self.at += 1;
        let body = self.at;
        let mut owned: Option<String> = None;
        let mut run = body;
        loop {
            let Some(offset) = bytes[self.at..].iter().position(|&b| b == b'"') else {
                return Err(CsvFault::Unclosed(open));
            };
            let quote = self.at + offset;
            if bytes.get(quote + 1) == Some(&b'"') {
                let text = owned.get_or_insert_with(String::new);
                text.push_str(&self.text[run..=quote]);
                self.at = quote + 2;
                run = self.at;
                continue;
            }
            self.at = quote + 1;
            return Ok(match owned {
                Some(mut text) => {
                    text.push_str(&self.text[run..quote]);
                    Cow::Owned(text)
                }
                None => Cow::Borrowed(&self.text[body..quote]),
            });
        }
    }
}

impl<'a> Iterator for CsvReader<'a> {
    type Item = Result<CsvRecord<'a>, CsvFault>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        self.skip_lines();
        if self.at >= self.text.len() {
            return None;
        }
        let record = self.record();
        self.failed = record.is_err();
        Some(record)
    }
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |at| from + at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<Vec<String>> {
        CsvReader::new(text)
            .map(|record| match record {
                Ok(record) => record.fields.iter().map(|f| f.value.to_string()).collect(),
                Err(fault) => vec![format!("{fault:?}")],
            })
            .collect()
    }

    #[test]
    fn plain_quoted_and_multiline_fields() {
        assert_eq!(
            values("a,b\n\"c,d\",\"say \"\"hi\"\"\"\n\"x\ny\",z"),
            vec![
                vec!["a".to_owned(), "b".to_owned()],
                vec!["c,d".to_owned(), "say \"hi\"".to_owned()],
                vec!["x\ny".to_owned(), "z".to_owned()],
            ]
        );
    }

    #[test]
    fn bom_crlf_blank_and_comment_lines() {
        assert_eq!(
            values("\u{FEFF}# old site\r\n\r\n/a,/b\r\n\n#c\n/c, /d\r\n"),
            vec![
                vec!["/a".to_owned(), "/b".to_owned()],
                vec!["/c".to_owned(), " /d".to_owned()],
            ]
        );
        assert!(values("").is_empty());
        assert!(values("\u{FEFF}").is_empty());
    }

    #[test]
    fn a_hash_inside_a_quoted_field_is_data() {
        assert_eq!(
            values("\"a\n#b\",c\n"),
            vec![vec!["a\n#b".to_owned(), "c".to_owned()]]
        );
    }

    #[test]
    fn stray_and_unclosed_quotes_are_faults_with_offsets() {
        assert_eq!(values("a,b\"c\n"), vec![vec!["QuoteInField(3)".to_owned()]]);
        assert_eq!(values("\"a\"x,b\n"), vec![vec!["AfterQuote(3)".to_owned()]]);
        assert_eq!(
            values("a,b\n\"open,c\n"),
            vec![
                vec!["a".to_owned(), "b".to_owned()],
                vec!["Unclosed(4)".to_owned()]
            ]
        );
    }

    #[test]
    fn field_offsets_and_record_lines() {
        let records: Vec<CsvRecord<'_>> =
            CsvReader::new("k,v\r\nkey,\"val\"\r\n").flatten().collect();
        assert_eq!(records[1].start, 5);
        assert_eq!(records[1].fields[1].start, 9);
        assert_eq!(records[1].first_line_end, 14);
        assert_eq!(records.len(), 2);
    }
}
