//! The envelope exactly as the store writes it, read without a general JSON
//! parser: the fields in the envelope's own order, no whitespace, strings
//! without escapes, the payload in a strict subset of JSON. A verifier reads
//! every head of a kommun's history; nearly all of them are in this form, and
//! reading them this way costs a fraction of `serde_json`.
//!
//! [`scan`] only ever says yes to text that `serde_json` reads as an
//! [`Envelope`](crate::Envelope) with the same field values — but for the
//! kommun id, which it does not check: `EnvelopeHead::decode` compares it
//! with the valid one asked for. Anything it is unsure of (an escape,
//! whitespace, a field out of order, an exponent, deep nesting) is a `None`,
//! and the caller reads the message the general way. The fuzz target
//! `envelope` holds it to that.

use chrono::NaiveDate;
use styr_provenance::{written_day as day, DecidedBy, Provenance};

/// The fields of an envelope in the store's form, as text; the payload has
/// been checked and is not kept.
pub(crate) struct Parts<'a> {
    pub event_id: &'a str,
    pub kommun: &'a str,
    pub kind: &'a str,
    pub id: &'a str,
    pub event_type: &'a str,
    pub schema_version: u32,
    /// The whole provenance object (its fields are read by its own
    /// deserializer).
    pub provenance: &'a str,
    pub recorded_at: &'a str,
    pub recorded_by: &'a str,
    pub correlation_id: &'a str,
    pub causation_id: Option<&'a str>,
    pub idempotency_key: &'a str,
    pub prev_hash: &'a str,
    pub signature: Option<&'a str>,
}

/// Deeper payloads are read the general way (`serde_json` refuses the
/// 128th nested level, the envelope's own included).
const MAX_DEPTH: usize = 64;

/// Numbers longer than this, or with an exponent, are read the general way
/// (`serde_json` refuses a number outside `f64`'s range; 40 digits without
/// an exponent are far inside it).
const MAX_NUMBER: usize = 40;

/// How long the store writes an id (a hyphenated UUID), a hash and a
/// signature (hex): [`Cursor::string_of`] checks such a string where it
/// should end before it searches.
const UUID: usize = 36;
const HASH: usize = 64;
const SIGNATURE: usize = 128;

/// The key `serde_json` (with `raw_value`) reserves for a raw value.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// The parts of `text` if it is an envelope in the store's form.
pub(crate) fn scan(text: &str) -> Option<Parts<'_>> {
    // No control character and no backslash anywhere (one pass over the
    // bytes, no early exit, so that it is vectorised): the store's form has
    // no whitespace and escapes control characters in strings; a message
    // with an escape anywhere is read the general way. So every `"` opens or
    // closes a string, and a string read below needs no check of its own.
    if !plain(text) {
        return None;
    }
    let mut c = Cursor { text, at: 0 };
    c.expect("{\"event_id\":")?;
    let event_id = c.string_of(UUID)?;
    c.expect(",\"kommun\":")?;
    let kommun = c.string()?;
    c.expect(",\"aggregate\":{\"kind\":")?;
    let kind = c.string()?;
    c.expect(",\"id\":")?;
    let id = c.string()?;
    c.expect("},\"event_type\":")?;
    let event_type = c.string()?;
    c.expect(",\"schema_version\":")?;
    let schema_version = c.unsigned()?;
    c.expect(",\"provenance\":")?;
    let from = c.at;
    // Its own deserializer reads it again.
    c.value(1)?;
    let provenance = &text[from..c.at];
    c.expect(",\"recorded_at\":")?;
    let recorded_at = c.string()?;
    c.expect(",\"recorded_by\":")?;
    let recorded_by = c.string()?;
    c.expect(",\"correlation_id\":")?;
    let correlation_id = c.string_of(UUID)?;
    let causation_id = if c.eat(",\"causation_id\":") {
        Some(c.string_of(UUID)?)
    } else {
        None
    };
    c.expect(",\"idempotency_key\":")?;
    let idempotency_key = c.string()?;
    c.expect(",\"prev_hash\":")?;
    let prev_hash = c.string_of(HASH)?;
    c.expect(",\"payload\":")?;
    c.value(1)?;
    let signature = if c.eat(",\"signature\":") {
        Some(c.string_of(SIGNATURE)?)
    } else {
        None
    };
    c.expect("}")?;
    (c.at == text.len()).then_some(Parts {
        event_id,
        kommun,
        kind,
        id,
        event_type,
        schema_version,
        provenance,
        recorded_at,
        recorded_by,
        correlation_id,
        causation_id,
        idempotency_key,
        prev_hash,
        signature,
    })
}

/// A provenance in the store's form (the fields in their declared order,
/// `kind` first, no optional field given as `null`, dates as
/// `YYYY-MM-DD`): the value `serde_json` reads from the same text. The
/// text is a part [`scan`] returned (no escape, no whitespace); anything
/// else is a `None`, and the caller reads it the general way.
pub(crate) fn provenance(text: &str) -> Option<Provenance> {
    let mut c = Cursor { text, at: 0 };
    c.expect("{\"decided_by\":{\"kind\":")?;
    let decided_by = match c.string()? {
        "body" => DecidedBy::Body {
            body: c.field(",\"body\":")?.into(),
            meeting_date: day(c.field(",\"meeting_date\":")?)?,
            paragraph: c.field(",\"paragraph\":")?.into(),
        },
        "delegate" => DecidedBy::Delegate {
            delegate: c.field(",\"delegate\":")?.into(),
            on_behalf_of: c.field(",\"on_behalf_of\":")?.into(),
            delegation_point: c.field(",\"delegation_point\":")?.into(),
            decision_date: day(c.field(",\"decision_date\":")?)?,
        },
        "official" => DecidedBy::Official {
            official: c.field(",\"official\":")?.into(),
            unit: c.field(",\"unit\":")?.into(),
            decision_date: day(c.field(",\"decision_date\":")?)?,
        },
        "system" => DecidedBy::System {
            component: c.field(",\"component\":")?.into(),
        },
        _ => return None,
    };
    c.expect("}")?;
    let effective_date = day(c.field(",\"effective_date\":")?)?;
    let case_number = c.optional(",\"case_number\":")?.map(String::from);
    let protocol_approved = c.optional_day(",\"protocol_approved\":")?;
    let announced = c.optional_day(",\"announced\":")?;
    c.expect("}")?;
    (c.at == text.len()).then_some(Provenance {
        decided_by,
        effective_date,
        case_number,
        protocol_approved,
        announced,
    })
}

/// No control character and no backslash in `text`.
fn plain(text: &str) -> bool {
    !text
        .bytes()
        .fold(false, |unsure, b| unsure | (b < 0x20) | (b == b'\\'))
}

/// Where the first `"` in `bytes` is. Eight bytes at a time: most strings
/// here are too short for a vectorised search's set-up to pay, and the long
/// ones (hashes, the signature) too long for a byte at a time.
fn find_quote(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
        // A byte of `x` is zero where the word has a quote; the lowest high
        // bit set below is at the first such byte (a borrow only ever marks
        // bytes above a zero one).
        let x = word ^ QUOTES;
        let found = x.wrapping_sub(ONES) & !x & HIGH;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = words.remainder();
    rest.iter().position(|&b| b == b'"').map(|i| at + i)
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a [u8] {
        &self.text.as_bytes()[self.at..]
    }

    fn peek(&self) -> Option<u8> {
        self.rest().first().copied()
    }

    // Inlined so that each literal's length is known where it is compared
    // (a comparison of known short length is a few loads, not a `memcmp`).
    #[inline(always)]
    fn eat(&mut self, s: &str) -> bool {
        let found = self.rest().starts_with(s.as_bytes());
        if found {
            self.at += s.len();
        }
        found
    }

    #[inline(always)]
    fn expect(&mut self, s: &str) -> Option<()> {
        self.eat(s).then_some(())
    }

    /// A string (without escapes: [`scan`] refused them); its content.
    fn string(&mut self) -> Option<&'a str> {
        self.expect("\"")?;
        let len = find_quote(self.rest())?;
        let s = &self.text[self.at..self.at + len];
        self.at += len + 1;
        Some(s)
    }

    /// The literal `name` (a key with its comma and colon), then a string.
    #[inline(always)]
    fn field(&mut self, name: &str) -> Option<&'a str> {
        self.expect(name)?;
        self.string()
    }

    /// A field that may be left out: `Some(None)` where it is, `None` where
    /// it is there and not a string.
    #[inline(always)]
    fn optional(&mut self, name: &str) -> Option<Option<&'a str>> {
        if self.eat(name) {
            self.string().map(Some)
        } else {
            Some(None)
        }
    }

    /// A date that may be left out, as [`optional`](Self::optional).
    fn optional_day(&mut self, name: &str) -> Option<Option<NaiveDate>> {
        match self.optional(name)? {
            Some(text) => day(text).map(Some),
            None => Some(None),
        }
    }

    /// A string expected to be `len` bytes long: where it is (a quote
    /// `len` bytes on and none before it, checked in one pass with no
    /// early exit), read without searching for its end; otherwise read as
    /// any string. The same string either way.
    #[inline(always)]
    fn string_of(&mut self, len: usize) -> Option<&'a str> {
        let rest = self.rest();
        if rest.len() > len + 1
            && rest[0] == b'"'
            && rest[len + 1] == b'"'
            && !rest[1..=len]
                .iter()
                .fold(false, |quote, &b| quote | (b == b'"'))
        {
            let s = self.text.get(self.at + 1..self.at + 1 + len)?;
            self.at += len + 2;
            return Some(s);
        }
        self.string()
    }

    /// `0` or digits not starting with `0`, as a `u32`.
    fn unsigned(&mut self) -> Option<u32> {
        let len = self.digits();
        let digits = &self.text[self.at..self.at + len];
        if len == 0 || (len > 1 && digits.starts_with('0')) {
            return None;
        }
        self.at += len;
        digits.parse().ok()
    }

    /// An object key and its colon.
    fn key(&mut self) -> Option<()> {
        let key = self.string()?;
        if key == RAW_VALUE_TOKEN {
            return None;
        }
        self.expect(":")
    }

    /// Any JSON value of the subset, at nesting `depth`.
    fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.container(depth, "}", true),
            b'[' => self.container(depth, "]", false),
            b't' => self.expect("true"),
            b'f' => self.expect("false"),
            b'n' => self.expect("null"),
            _ => self.number(),
        }
    }

    /// An object (`keyed`) or an array from its opening bracket to `close`,
    /// its values at `depth + 1`.
    fn container(&mut self, depth: usize, close: &str, keyed: bool) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.at += 1;
        if self.eat(close) {
            return Some(());
        }
        loop {
            if keyed {
                self.key()?;
            }
            self.value(depth + 1)?;
            if self.eat(close) {
                return Some(());
            }
            self.expect(",")?;
        }
    }

    /// How many ASCII digits follow (not consumed).
    fn digits(&self) -> usize {
        self.rest()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, at most [`MAX_NUMBER`] long.
    fn number(&mut self) -> Option<()> {
        let from = self.at;
        self.eat("-");
        let int = self.digits();
        if int == 0 || (int > 1 && self.rest()[0] == b'0') {
            return None;
        }
        self.at += int;
        if self.eat(".") {
            let frac = self.digits();
            if frac == 0 {
                return None;
            }
            self.at += frac;
        }
        // An exponent, or anything else glued on, ends the subset.
        if matches!(self.peek(), Some(b'e' | b'E')) || self.at - from > MAX_NUMBER {
            return None;
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(p: &str) -> Option<()> {
        if !plain(p) {
            return None;
        }
        let mut c = Cursor { text: p, at: 0 };
        c.value(1)?;
        (c.at == p.len()).then_some(())
    }

    #[test]
    fn a_quote_is_found_wherever_it_is() {
        for len in 0..40 {
            for at in 0..=len {
                let mut bytes: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                // Other bytes before the quote, `#` (one below it) after.
                bytes.iter_mut().skip(at).for_each(|b| *b = b'#');
                if at < len {
                    bytes[at] = b'"';
                    bytes[len - 1] = b'"';
                }
                let expected = bytes.iter().position(|&b| b == b'"');
                assert_eq!(find_quote(&bytes), expected, "{len} {at}");
            }
        }
        // Bytes with the high bit set, in the eight-byte words too: one
        // whose XOR with `"` leaves the high bit must not pass for a quote.
        assert_eq!(find_quote("ä\"".as_bytes()), Some(2));
        assert_eq!(find_quote(&[0xa2, 0x22]), Some(1));
        assert_eq!(find_quote("åäöab\"".as_bytes()), Some(8));
        assert_eq!(find_quote("åäöåäöåäö\"".as_bytes()), Some(18));
        for high in 0x80..=0xffu8 {
            let mut bytes = vec![high; 20];
            assert_eq!(find_quote(&bytes), None, "{high:#x}");
            bytes[11] = b'"';
            assert_eq!(find_quote(&bytes), Some(11), "{high:#x}");
        }
    }

    #[test]
    fn a_string_of_known_length_ends_at_its_first_quote() {
        fn read(text: &str, len: usize) -> Option<(&str, usize)> {
            let mut c = Cursor { text, at: 0 };
            c.string_of(len).map(|s| (s, c.at))
        }
        let id = "0192f3a4-0000-7000-8000-000000000001";
        assert_eq!(read(&format!("\"{id}\","), UUID), Some((id, 38)));
        // A quote inside the length: the string ends there, as it does for
        // any reader (the quote 36 bytes on is another string's).
        let short = format!("\"ab\",\"{}\"", "c".repeat(31));
        assert_eq!(short.as_bytes()[UUID + 1], b'"');
        assert_eq!(read(&short, UUID), Some(("ab", 4)));
        // Longer or shorter than expected: searched for.
        assert_eq!(
            read(&format!("\"{id}x\""), UUID),
            Some((&*format!("{id}x"), 39))
        );
        assert_eq!(read("\"abc\"", UUID), Some(("abc", 5)));
        assert_eq!(read(&format!("\"{id}"), UUID), None);
    }

    #[test]
    fn a_provenance_in_the_stores_form_reads_as_serde_reads_it() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let kinds = [
            DecidedBy::Body {
                body: "kf".into(),
                meeting_date: day(2025, 6, 16),
                paragraph: "§ 87 a".into(),
            },
            DecidedBy::Delegate {
                delegate: "ekonomichef".into(),
                on_behalf_of: "ks".into(),
                delegation_point: "3.2".into(),
                decision_date: day(2026, 3, 1),
            },
            DecidedBy::Official {
                official: "rektor".into(),
                unit: "skola-1".into(),
                decision_date: day(999, 12, 31),
            },
            DecidedBy::System {
                component: "checkpoint".into(),
            },
        ];
        for decided_by in kinds {
            let mut p = Provenance::new(decided_by, day(2026, 1, 1));
            for step in 0..4 {
                match step {
                    1 => p.case_number = Some("KS 2025/118".into()),
                    2 => p.protocol_approved = Some(day(2025, 6, 20)),
                    3 => p.announced = Some(day(2025, 6, 23)),
                    _ => {}
                }
                let text = serde_json::to_string(&p).unwrap();
                assert_eq!(provenance(&text).as_ref(), Some(&p), "{text}");
            }
        }
    }

    #[test]
    fn a_provenance_in_another_form_is_left_to_serde() {
        let body = r#"{"kind":"body","body":"kf","meeting_date":"2025-06-16","paragraph":"1"}"#;
        for unsure in [
            // Optional fields given as null, out of order, unknown, doubled.
            format!(r#"{{"decided_by":{body},"effective_date":"2026-01-01","case_number":null}}"#),
            format!(r#"{{"effective_date":"2026-01-01","decided_by":{body}}}"#),
            format!(r#"{{"decided_by":{body},"effective_date":"2026-01-01","x":1}}"#),
            format!(r#"{{"decided_by":{body},"effective_date":"2026-01-01","announced":"2026-01-01","announced":"2026-01-02"}}"#),
            // Dates chrono might read otherwise, or refuses.
            format!(r#"{{"decided_by":{body},"effective_date":"2026-1-01"}}"#),
            format!(r#"{{"decided_by":{body},"effective_date":"+2026-01-01"}}"#),
            format!(r#"{{"decided_by":{body},"effective_date":"2026-02-30"}}"#),
            format!(r#"{{"decided_by":{body},"effective_date":"2026-01-01","announced":"20260101"}}"#),
            // The tag: another case, after the fields, another kind's field.
            r#"{"decided_by":{"kind":"Body","body":"kf","meeting_date":"2025-06-16","paragraph":"1"},"effective_date":"2026-01-01"}"#.into(),
            r#"{"decided_by":{"body":"kf","kind":"body","meeting_date":"2025-06-16","paragraph":"1"},"effective_date":"2026-01-01"}"#.into(),
            r#"{"decided_by":{"kind":"system","component":"c","unit":"u"},"effective_date":"2026-01-01"}"#.into(),
            r#"{"decided_by":{"kind":"body","body":"kf","meeting_date":"2025-06-16"},"effective_date":"2026-01-01"}"#.into(),
            format!(r#"{{"decided_by":{body},"effective_date":"2026-01-01"}} "#),
            format!(r#"{{"decided_by":{body}}}"#),
        ] {
            assert!(provenance(&unsure).is_none(), "{unsure}");
        }
    }

    #[test]
    fn the_payload_subset_is_json_that_serde_reads() {
        for ok in [
            "{}",
            "[]",
            r#"{"a":[1,-2,0.5,-0.25,0,true,false,null,"x"],"b":{"c":{}}}"#,
            "12345678901234567890123456789",
            // At the length limit.
            "-1234567890123456789.0123456789012345678",
            r#""å ä ö""#,
        ] {
            assert!(payload(ok).is_some(), "{ok}");
            assert!(
                serde_json::from_str::<serde_json::Value>(ok).is_ok(),
                "{ok}"
            );
        }
        // Refused: left to the general reader, which may or may not take it.
        for unsure in [
            r#""a\"b""#,
            "1e5",
            "1.5E-3",
            "01",
            "-",
            "1.",
            ".5",
            "+1",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" :1}",
            "[1 ]",
            "tru",
            "nul",
            r#"{"$serde_json::private::RawValue":"1"}"#,
            // One over the length limit.
            "-1234567890123456789.01234567890123456789",
            "{\"a\":1",
        ] {
            assert!(payload(unsure).is_none(), "{unsure}");
        }
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(payload(&deep).is_some());
        let deeper = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(payload(&deeper).is_none());
    }
}
