//! Fuzzes the framing check that reads the client's stream ahead of hyper:
//! any bytes, cut into pieces at any points, must never panic, and must give
//! the same verdict — pass, or the same refusal — as the same bytes fed in
//! one piece. A follower that depended on how TCP happened to split the
//! stream could be steered past its checks. Every run ends with an empty
//! line: like hyper, the follower parses an unfinished head only on its
//! first bytes and when a head ends, so garbage split before its first line
//! ends is refused when the head ends, not sooner.
//!
//! Input layout: byte 0 and 1 pick two cut points; the rest is the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::proxy::framing::{RequestFraming, Verdict};

const LIMIT: usize = 2048;

/// The refusal and its offset in the whole stream, if any. Bytes held
/// after an upgrade request are fed again as if the upgrade was refused (the
/// case in which they must still be checked).
fn run(pieces: &[&[u8]]) -> Option<(usize, String)> {
    let mut framing = RequestFraming::new(LIMIT);
    let mut offset = 0;
    for piece in pieces.iter().chain([&&b"\r\n\r\n"[..]]) {
        let mut owned = piece.to_vec();
        let mut rest: &mut [u8] = &mut owned;
        loop {
            match framing.feed(rest) {
                Verdict::Refuse { at, rejection } => {
                    return Some((offset + at, format!("{rejection:?}")));
                }
                Verdict::Break { at } => {
                    return Some((offset + at, "Break".to_owned()));
                }
                Verdict::Hold { at } => {
                    framing.resume();
                    offset += at;
                    rest = &mut rest[at..];
                }
                Verdict::Pass => {
                    offset += rest.len();
                    break;
                }
            }
        }
    }
    None
}

fuzz_target!(|data: &[u8]| {
    let [a, b, stream @ ..] = data else {
        return;
    };
    let whole = run(&[stream]);
    let len = stream.len();
    let (mut x, mut y) = (usize::from(*a) * len / 256, usize::from(*b) * len / 256);
    if x > y {
        std::mem::swap(&mut x, &mut y);
    }
    let split = run(&[&stream[..x], &stream[x..y], &stream[y..]]);
    let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
    let by_byte = run(&bytewise);
    for other in [&split, &by_byte] {
        match (&whole, other) {
            (None, None) => {}
            (Some((_, why)), Some((_, why_other))) => {
                // A long unparsable stream is refused as too large when it
                // arrives in small pieces and as malformed when the parser
                // sees it whole (hyper does the same): both are refusals.
                let sized = |w: &str| w == "TooLarge" || w == "UriTooLong";
                assert!(
                    why == why_other || sized(why) || sized(why_other),
                    "cutting changed the refusal: {why} vs {why_other}"
                );
            }
            _ => panic!("cutting changed the verdict: {whole:?} vs {other:?}"),
        }
    }
});
