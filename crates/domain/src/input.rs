//! Limits every submitted value must keep, whatever the command: amounts a
//! kommun budget can hold, dates a decision can carry, text without control
//! characters. Checked before any rule, so that no input can overflow a sum,
//! panic, or put an impossible date into the history.

use chrono::{Datelike, NaiveDate};

use crate::command::Command;
use crate::decide::reject;
use crate::rejection::{Rejection, Rule};
use styr_provenance::Provenance;

/// The largest amount, in tkr, any field may hold: 10¹² tkr (a thousand
/// times the Swedish state budget). Sums of up to a million such amounts
/// stay far inside `i64`.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;
/// The years a date may lie in.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2199;

fn date_in_range(field: &str, date: NaiveDate) -> Result<(), Rejection> {
    if YEARS.contains(&date.year()) {
        Ok(())
    } else {
        reject(
            Rule::Input,
            field,
            format!(
                "datumet {date} ligger utanför åren {}–{}",
                YEARS.start(),
                YEARS.end()
            ),
        )
    }
}

/// Checks text a person reads: no control characters but line breaks and tabs.
pub fn check_plain_text(field: &str, text: &str) -> Result<(), Rejection> {
    match text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        Some(c) => reject(
            Rule::Input,
            field,
            format!("innehåller ett otillåtet styrtecken (U+{:04X})", c as u32),
        ),
        None => Ok(()),
    }
}

/// Checks the provenance's dates are in range.
pub fn check_provenance_input(p: &Provenance) -> Result<(), Rejection> {
    date_in_range("provenance.effective_date", p.effective_date)?;
    if let Some(d) = p.decided_by.decision_date() {
        date_in_range("provenance.decided_by", d)?;
    }
    for (field, d) in [
        ("provenance.protocol_approved", p.protocol_approved),
        ("provenance.announced", p.announced),
    ] {
        if let Some(d) = d {
            date_in_range(field, d)?;
        }
    }
    if let Some(c) = &p.case_number {
        check_plain_text("provenance.case_number", c)?;
    }
    Ok(())
}

/// Walks every value of the command: integers within ±[`MAX_AMOUNT`],
/// decimals finite and within the same bound, dates in [`YEARS`], text
/// without control characters. The field named is the value's path.
pub fn check_command_input(command: &Command) -> Result<(), Rejection> {
    let value = serde_json::to_value(command)
        .map_err(|e| Rejection::new(Rule::Input, "command", format!("går inte att läsa: {e}")))?;
    walk(&value, &mut String::new())
}

fn walk(value: &serde_json::Value, path: &mut String) -> Result<(), Rejection> {
    use serde_json::Value;
    match value {
        Value::Number(n) => {
            let ok = match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => (-MAX_AMOUNT..=MAX_AMOUNT).contains(&i),
                (None, Some(u), _) => u <= MAX_AMOUNT as u64,
                (None, None, Some(f)) => f.is_finite() && f.abs() <= MAX_AMOUNT as f64,
                _ => false,
            };
            if !ok {
                return reject(
                    Rule::Input,
                    path.as_str(),
                    format!("{n} är utanför vad ett värde får vara (högst ±{MAX_AMOUNT})"),
                );
            }
        }
        Value::String(s) => {
            check_plain_text(path, s)?;
            if let Ok(d) = s.parse::<NaiveDate>() {
                date_in_range(path, d)?;
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, path)?;
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                if k == "command" && path.is_empty() {
                    continue;
                }
                check_plain_text(path, k)?;
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                walk(v, path)?;
                path.truncate(len);
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
    Ok(())
}
