//! serde's messages about malformed input, said in Swedish: what a caller
//! reads when a submission or query does not parse.

/// Swedish for a serde / serde_json error message (`unknown field`,
/// `missing field`, `invalid type`, `unknown variant`, syntax errors). Parts
/// it does not recognise are kept as they are.
pub fn serde_message(message: &str) -> String {
    let (text, position) = match message.rsplit_once(" at line ") {
        Some((t, p)) => (t, format!(" (rad {})", p.replace(" column ", ", kolumn "))),
        None => (message, String::new()),
    };
    let said = if let Some(rest) = text.strip_prefix("unknown field ") {
        let (field, allowed) = rest.split_once(", expected").unwrap_or((rest, ""));
        format!("okänt fält {field}{}", allowed_sv(allowed))
    } else if let Some(rest) = text.strip_prefix("unknown variant ") {
        let (value, allowed) = rest.split_once(", expected").unwrap_or((rest, ""));
        format!("okänt värde {value}{}", allowed_sv(allowed))
    } else if let Some(field) = text.strip_prefix("missing field ") {
        format!("fältet {field} saknas")
    } else if let Some(field) = text.strip_prefix("duplicate field ") {
        format!("fältet {field} finns två gånger")
    } else if let Some(rest) = text.strip_prefix("invalid type: ") {
        let (got, want) = rest.split_once(", expected ").unwrap_or((rest, "?"));
        format!("fel typ: {}, väntade {}", kinds(got), kinds(want))
    } else if let Some(rest) = text.strip_prefix("invalid value: ") {
        let (got, want) = rest.split_once(", expected ").unwrap_or((rest, "?"));
        format!("ogiltigt värde: {}, väntade {}", kinds(got), kinds(want))
    } else if text.starts_with("input is out of range") {
        "datumet finns inte".to_owned()
    } else if text.starts_with("input contains invalid characters")
        || text.starts_with("premature end of input")
        || text.starts_with("trailing input")
    {
        "inget datum: skriv ÅÅÅÅ-MM-DD".to_owned()
    } else if let Some(rest) = text.strip_prefix("invalid length ") {
        format!("fel längd {rest}")
    } else if text.starts_with("EOF while parsing") {
        "texten tar slut mitt i JSON-dokumentet".to_owned()
    } else if text.starts_with("expected") || text.starts_with("key must be") {
        format!("inte giltig JSON: {text}")
    } else if text.starts_with("trailing characters") {
        "tecken efter JSON-dokumentets slut".to_owned()
    } else {
        text.to_owned()
    };
    format!("{said}{position}")
}

/// serde's words for kinds of values, in Swedish.
fn kinds(text: &str) -> String {
    [
        ("a formatted date string", "ett datum ÅÅÅÅ-MM-DD"),
        ("floating point", "decimaltal"),
        ("integer", "heltal"),
        ("a string", "en text"),
        ("string", "text"),
        ("a sequence", "en lista"),
        ("sequence", "lista"),
        ("a map", "ett objekt"),
        ("map", "objekt"),
        ("boolean", "sant/falskt"),
        ("unit value", "null"),
        ("struct ", "objektet "),
        ("internally tagged enum ", "ärendet "),
        ("i32", "ett heltal"),
        ("u64", "ett icke-negativt heltal"),
        ("i64", "ett heltal"),
        ("f64", "ett tal"),
    ]
    .iter()
    .fold(text.to_owned(), |t, (en, sv)| t.replace(en, sv))
}

fn allowed_sv(allowed: &str) -> String {
    let allowed = allowed.trim();
    if allowed.is_empty() {
        return String::new();
    }
    let list = allowed
        .trim_start_matches("one of ")
        .trim_start_matches("a ")
        .trim();
    format!("; tillåtna: {}", list.replace("` or `", "` eller `"))
}

#[cfg(test)]
mod tests {
    use super::serde_message;

    #[test]
    fn serde_speaks_swedish() {
        for (english, swedish) in [
            (
                "unknown field `extra`, expected one of `a`, `b` at line 1 column 9",
                "okänt fält `extra`; tillåtna: `a`, `b` (rad 1, kolumn 9)",
            ),
            ("missing field `year`", "fältet `year` saknas"),
            (
                "invalid type: integer `20260531`, expected a formatted date string",
                "fel typ: heltal `20260531`, väntade ett datum ÅÅÅÅ-MM-DD",
            ),
            (
                "invalid type: floating point `22.16`, expected a string",
                "fel typ: decimaltal `22.16`, väntade en text",
            ),
            (
                "unknown variant `x`, expected `plan` or `chain`",
                "okänt värde `x`; tillåtna: `plan` eller `chain`",
            ),
            ("input is out of range", "datumet finns inte"),
            (
                "EOF while parsing an object at line 1 column 2",
                "texten tar slut mitt i JSON-dokumentet (rad 1, kolumn 2)",
            ),
            ("något annat", "något annat"),
        ] {
            assert_eq!(serde_message(english), swedish);
        }
    }
}
