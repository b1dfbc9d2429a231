//! Correction: a rättelse of a recorded decision (förvaltningslagen
//! (2017:900) 36 §).
//!
//! A rättelse names the event it corrects and, by JSON Pointer into that
//! event's data, the values that were wrong. The event stays in the history
//! as recorded; every reader that folds the history reads it through the
//! rättelser recorded so far ([`Corrections`]), so state, plans and
//! registers show the corrected values from the rättelse on, and a reader
//! that stops before it shows the original.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::decide::*;
use crate::*;

/// The recorded decision a rättelse corrects, as the history reads it now
/// (earlier rättelser of it applied).
#[derive(Debug, Clone, PartialEq)]
pub struct Original {
    pub event_type: String,
    pub payload: Value,
    /// Who took the decision (a rättelse is made by them, P1).
    pub decided_by: DecidedBy,
}

/// Rättelser in force: for each corrected event, its corrections in the
/// order they were recorded. Every reader that folds a history keeps one
/// and reads each event through it ([`Corrections::apply`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Corrections {
    /// The rättelser noted, by their own event id.
    noted: HashSet<Uuid>,
    /// Corrected event → each rättelse's corrections, oldest first.
    by_event: HashMap<Uuid, Vec<BTreeMap<String, Value>>>,
}

impl Corrections {
    /// Notes a recorded rättelse (`id` is its own event id). True when it
    /// is new here and takes effect: whatever was folded of the event it
    /// corrects must be folded again.
    pub fn note(&mut self, id: Uuid, correction: &DecisionCorrected) -> bool {
        if correction.ground.is_none() || !self.noted.insert(id) {
            return false;
        }
        self.by_event
            .entry(correction.corrects)
            .or_default()
            .push(correction.corrections.clone());
        true
    }

    /// Notes `event` (recorded as `id`) if it is a rättelse; see
    /// [`note`](Self::note).
    pub fn note_event(&mut self, id: Uuid, event: &Event) -> bool {
        match event {
            Event::DecisionCorrected(c) => self.note(id, c),
            _ => false,
        }
    }

    /// Whether a rättelse that takes effect names `event`.
    pub fn names(&self, event: Uuid) -> bool {
        self.by_event.contains_key(&event)
    }

    /// The event's data as the history reads it now: as recorded, or
    /// through the rättelser that name it.
    pub fn read<'a>(&self, event: Uuid, payload: &'a Value) -> std::borrow::Cow<'a, Value> {
        match self.apply(event, payload) {
            Some(corrected) => std::borrow::Cow::Owned(corrected),
            None => std::borrow::Cow::Borrowed(payload),
        }
    }

    /// The event's data as corrected, or `None` when no rättelse names it.
    pub fn apply(&self, event: Uuid, payload: &Value) -> Option<Value> {
        let list = self.by_event.get(&event)?;
        let mut out = payload.clone();
        for corrections in list {
            patch(&mut out, corrections);
        }
        Some(out)
    }
}

fn patch(payload: &mut Value, corrections: &BTreeMap<String, Value>) {
    for (pointer, value) in corrections {
        if let Some(slot) = payload.pointer_mut(pointer) {
            *slot = value.clone();
        }
    }
}

/// Free-text fields: what a skrivfel may be corrected in. Never a field
/// a rule reads as an id, a reference or a choice (`action`, `risk`,
/// `recommendation` and `response` are such, though they are strings).
const TEXT_FIELDS: &[&str] = &[
    "title",
    "name",
    "description",
    "reason",
    "summary",
    "comment",
    "analysis",
    "purpose",
    "text",
    "what",
    "how",
    "reply",
    "observations",
    "measures",
    "area",
    "grunduppdrag",
    "synnerliga_skal",
    "detail",
];

/// Measured values and target values: what a räknefel may be corrected in.
/// An amount a rule has checked (a ram, a detaljbudget line, the budget's
/// result, an investment) is changed by a new decision, never a rättelse:
/// the rules would not see it.
const VALUE_FIELDS: &[&str] = &["value", "baseline"];

/// The key a pointer ends in (for an item of a list of texts, the list's).
fn field_key(pointer: &str) -> &str {
    let mut parts = pointer.rsplit('/');
    let last = parts.next().unwrap_or("");
    if last.bytes().all(|b| b.is_ascii_digit()) && !last.is_empty() {
        parts.next().unwrap_or("")
    } else {
        last
    }
}

impl KommunState {
    /// `correct_decision`: see [`Command::CorrectDecision`]. `original` is
    /// the corrected decision as the history reads it now; without it the
    /// rättelse cannot be checked and is refused.
    pub(crate) fn decide_correct_decision(
        &self,
        provenance: &Provenance,
        c: &CorrectDecision,
        original: Option<&Original>,
    ) -> Decided {
        let CorrectDecision {
            corrects,
            ground,
            reason,
            corrections,
        } = c;
        let Some(original) = original else {
            return reject(
                Rule::Reference,
                "corrects",
                format!("ingen registrerad händelse {corrects}"),
            );
        };
        if !same_decider(&original.decided_by, &provenance.decided_by) {
            return reject(
                Rule::P1,
                "provenance.decided_by",
                "en rättelse görs av den som fattade beslutet som rättas",
            );
        }
        check_text("reason", reason)?;
        if corrections.is_empty() {
            return reject(Rule::Input, "corrections", "ange minst ett rättat fält");
        }
        if matches!(
            original.event_type.as_str(),
            "DecisionCorrected" | "SigningKeyPublished" | "CheckpointSigned"
        ) {
            return reject(
                Rule::P6,
                "corrects",
                format!(
                    "en {} rättas inte: rätta det beslut den gäller",
                    original.event_type
                ),
            );
        }
        let mut replaced = BTreeMap::new();
        for (pointer, value) in corrections {
            let field = format!("corrections.{pointer}");
            if !pointer.starts_with('/') {
                return reject(
                    Rule::Input,
                    field,
                    "ange fältet som en JSON-pekare in i beslutet, t.ex. /goals/0/title",
                );
            }
            let Some(old) = original.payload.pointer(pointer) else {
                return reject(
                    Rule::Reference,
                    field,
                    format!("{} har inget fält {pointer}", original.event_type),
                );
            };
            let key = field_key(pointer);
            let correctable = match old {
                Value::String(_) => TEXT_FIELDS.contains(&key),
                Value::Number(_) => VALUE_FIELDS.contains(&key),
                _ => false,
            };
            if !correctable {
                return reject(
                    Rule::P6,
                    field,
                    "är ett id, ett år, ett belopp som en regel prövat, en hänvisning eller en struktur: en rättelse rättar texter och mätvärden; annat ändras med ett nytt beslut",
                );
            }
            match (old, value) {
                (Value::String(_), Value::String(text)) => check_text(&field, text)?,
                (Value::Number(_), Value::Number(_)) => {}
                (Value::String(_), _) => return reject(Rule::Input, field, "ska vara en text"),
                _ => return reject(Rule::Input, field, "ska vara ett tal"),
            }
            if old == value {
                return reject(Rule::Input, field, format!("är redan {old}"));
            }
            replaced.insert(pointer.clone(), old.clone());
        }
        let mut patched = original.payload.clone();
        patch(&mut patched, corrections);
        let before = Event::from_payload(
            &original.event_type,
            EVENT_SCHEMA_VERSION,
            &original.payload,
        );
        let after = Event::from_payload(&original.event_type, EVENT_SCHEMA_VERSION, &patched);
        match (before, after) {
            (Ok(before), Ok(after)) if before.aggregate() == after.aggregate() => {}
            (Ok(_), Ok(_)) => {
                return reject(
                    Rule::P6,
                    "corrections",
                    "rättelsen ändrar vad beslutet gäller: det görs med ett nytt beslut",
                )
            }
            (_, Err(e)) => {
                return reject(
                    Rule::Input,
                    "corrections",
                    format!("det rättade beslutet går inte att läsa: {}", e.detail),
                )
            }
            (Err(e), _) => {
                return reject(
                    Rule::Reference,
                    "corrects",
                    format!("händelsen går inte att läsa: {}", e.detail),
                )
            }
        }
        Ok(vec![Event::DecisionCorrected(DecisionCorrected {
            corrects: *corrects,
            reason: reason.clone(),
            corrections: corrections.clone(),
            ground: Some(*ground),
            replaced,
        })])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_is_the_last_key_or_the_list_holding_it() {
        assert_eq!(field_key("/goals/0/title"), "title");
        assert_eq!(field_key("/observations/2"), "observations");
        assert_eq!(field_key("/rows/1/value"), "value");
    }

    #[test]
    fn later_rattelser_apply_over_earlier_ones_and_only_to_their_event() {
        let id = Uuid::from_u128(1);
        let fix = |n: u128, title: &str| {
            (
                Uuid::from_u128(n),
                DecisionCorrected {
                    corrects: id,
                    reason: "skrivfel".into(),
                    corrections: [("/title".to_owned(), Value::from(title))].into(),
                    ground: Some(CorrectionGround::Skrivfel),
                    replaced: BTreeMap::new(),
                },
            )
        };
        let mut c = Corrections::default();
        let (a, first) = fix(10, "B");
        let (b, second) = fix(11, "C");
        assert!(c.note(a, &first));
        assert!(!c.note(a, &first), "noted once");
        assert!(c.note(b, &second));
        let data = serde_json::json!({"title": "A", "id": "x"});
        assert_eq!(
            c.apply(id, &data),
            Some(serde_json::json!({"title": "C", "id": "x"}))
        );
        assert_eq!(c.apply(Uuid::from_u128(2), &data), None);
        assert!(c.names(id) && !c.names(Uuid::from_u128(2)));
        let mut annotation = first.clone();
        annotation.ground = None;
        assert!(
            !c.note(Uuid::from_u128(12), &annotation),
            "no ground: no effect"
        );
        let mut annotated = Corrections::default();
        annotated.note(Uuid::from_u128(12), &annotation);
        assert!(!annotated.names(id), "an annotation corrects nothing");
    }
}
