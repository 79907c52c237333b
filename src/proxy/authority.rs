//! What a request may name as its host: `Host`, or the authority of an
//! absolute-form target, checked by one grammar (RFC 3986 §3.2.2–3.2.3, as
//! RFC 9110 §7.2 and RFC 9112 §3.2 require), so that what the rules see as
//! `host` is what the next hop receives. User info is refused (RFC 9110
//! §4.2.4 deprecates it, and it is how `x@admin.example` hid its host).

use std::net::Ipv6Addr;

/// Whether `text` is `host [ ":" port ]` with a port that fits 16 bits (or
/// is empty, which the URI grammar allows).
pub(crate) fn is_valid_authority(text: &[u8]) -> bool {
    let (host, port) = split_port(text);
    let port_ok = port.is_none_or(|port| {
        port.is_empty()
            || (port.len() <= 5
                && port.iter().all(u8::is_ascii_digit)
                && std::str::from_utf8(port).is_ok_and(|p| p.parse::<u16>().is_ok()))
    });
    port_ok && is_valid_host(host)
}

/// The host and, after the last colon outside an IP literal, the port.
fn split_port(text: &[u8]) -> (&[u8], Option<&[u8]>) {
    let after_literal = match text.first() {
        Some(b'[') => text
            .iter()
            .position(|&b| b == b']')
            .map_or(0, |end| end + 1),
        _ => 0,
    };
    match text[after_literal..].iter().rposition(|&b| b == b':') {
        Some(colon) => {
            let at = after_literal + colon;
            (&text[..at], Some(&text[at + 1..]))
        }
        None => (text, None),
    }
}

/// An IP literal in brackets, or a reg-name (which covers IPv4 addresses):
/// unreserved characters, percent-escapes and sub-delimiters, possibly empty.
fn is_valid_host(host: &[u8]) -> bool {
    if let Some(inner) = host.strip_prefix(b"[") {
        return inner
            .strip_suffix(b"]")
            .is_some_and(|literal| is_ipv6(literal) || is_ipv_future(literal));
    }
    let mut i = 0;
    while i < host.len() {
        match host[i] {
            b'%' => {
                let escape = host.get(i + 1..i + 3);
                if !escape.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                    return false;
                }
                i += 3;
            }
            byte if is_unreserved(byte) || is_sub_delim(byte) => i += 1,
            _ => return false,
        }
    }
    true
}

fn is_ipv6(literal: &[u8]) -> bool {
    std::str::from_utf8(literal).is_ok_and(|text| text.parse::<Ipv6Addr>().is_ok())
}

/// `v` HEXDIG+ `.` ( unreserved / sub-delims / `:` )+ (RFC 3986 §3.2.2).
fn is_ipv_future(literal: &[u8]) -> bool {
    let Some(rest) = literal.strip_prefix(b"v").or(literal.strip_prefix(b"V")) else {
        return false;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let Some(tail) = rest[digits..].strip_prefix(b".") else {
        return false;
    };
    digits > 0
        && !tail.is_empty()
        && tail
            .iter()
            .all(|&b| is_unreserved(b) || is_sub_delim(b) || b == b':')
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(byte: u8) -> bool {
    matches!(
        byte,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_the_uri_grammar_allows() {
        for ok in [
            "example.com",
            "example.com:8080",
            "a.example:",
            "a.example:65535",
            "[::1]:80",
            "[2001:db8::1]",
            "[v1.fe:80]",
            "10.0.0.1:80",
            "a%2Eexample",
            "xn--bcher-kva.example",
            "",
        ] {
            assert!(is_valid_authority(ok.as_bytes()), "{ok}");
        }
    }

    #[test]
    fn what_a_host_cannot_hold() {
        for bad in [
            "exa mple.com",
            "a.example/p",
            "user@a.example",
            "x@admin.example",
            "[::1",
            "[::1]x",
            "[zz]",
            "a.example:99999",
            "a.example:8o",
            "a.example:-1",
            "[::1]:70000",
            "a%zzexample",
            "a%2",
            "a\"b",
            "a{b}",
            "caf\u{e9}.example",
        ] {
            assert!(!is_valid_authority(bad.as_bytes()), "{bad}");
        }
    }
}
