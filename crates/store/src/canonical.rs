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
    let event_id = c.string()?;
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
    let correlation_id = c.string()?;
    let causation_id = if c.eat(",\"causation_id\":") {
        Some(c.string()?)
    } else {
        None
    };
    c.expect(",\"idempotency_key\":")?;
    let idempotency_key = c.string()?;
    c.expect(",\"prev_hash\":")?;
    let prev_hash = c.string()?;
    c.expect(",\"payload\":")?;
    c.value(1)?;
    let signature = if c.eat(",\"signature\":") {
        Some(c.string()?)
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

    fn eat(&mut self, s: &str) -> bool {
        let found = self.rest().starts_with(s.as_bytes());
        if found {
            self.at += s.len();
        }
        found
    }

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
