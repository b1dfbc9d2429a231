//! Provenance (P7): who decided, where it is recorded, when it takes effect.
//!
//! Shared by the styrmodell (which checks who may decide what) and the event
//! log (whose envelope carries the provenance of every decision), so that the
//! log needs nothing else of the styrmodell.

use std::fmt;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Who took a decision (P1, P7).
// Stored as an object tagged by `kind`, and read in one pass (the
// `Deserialize` below), not through serde's buffering of tagged enums:
// every event envelope holds one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DecidedBy {
    /// Politiskt beslut: taken by a body (KF, KS, a nämnd, a bolag's board,
    /// the revisorer) at a meeting and recorded in its protocol under a §.
    Body {
        /// The body's id, e.g. `kf`, `bun`.
        body: String,
        meeting_date: NaiveDate,
        /// The protocol paragraph, e.g. `118` for "§ 118".
        paragraph: String,
    },
    /// Delegationsbeslut: taken by a delegat on a body's behalf under a point
    /// of that body's delegationsordning.
    Delegate {
        /// Who decided (name or role), e.g. `ekonomichef`.
        delegate: String,
        /// The body whose power was delegated.
        on_behalf_of: String,
        /// The delegationsordning point, e.g. `3.2`.
        delegation_point: String,
        decision_date: NaiveDate,
    },
    /// Verkställighet: a decision inside the förvaltning that needs no
    /// political mandate (a verksamhetsplan, a deviation report, an action
    /// within a chef's own remit), taken by an official for a unit.
    Official {
        official: String,
        /// The unit (förvaltning, område, ansvarsenhet) the official acts for.
        unit: String,
        decision_date: NaiveDate,
    },
    /// Recorded by Styrkedja itself (a signed checkpoint, a published key):
    /// no human decision, named for what recorded it.
    System { component: String },
}

/// A date as `NaiveDate` reads it; `YYYY-MM-DD`, the form written, without
/// chrono's general parser (every event's provenance holds two).
struct Day(NaiveDate);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Day;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a date, YYYY-MM-DD")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Day, E> {
                read_day(v).map(Day).map_err(E::custom)
            }
        }
        d.deserialize_str(Text)
    }
}

fn read_day(text: &str) -> Result<NaiveDate, chrono::ParseError> {
    match written_day(text) {
        Some(day) => Ok(day),
        None => text.parse(),
    }
}

/// A date in the form it is written, `YYYY-MM-DD` with a four-digit year
/// (as chrono reads it too); any other text, or no such day, is `None`.
pub fn written_day(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)
}

fn day<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    Day::deserialize(d).map(|day| day.0)
}

/// The tag of [`DecidedBy`]: a string, as the derive reads a tag.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", variant_identifier)]
enum Kind {
    Body,
    Delegate,
    Official,
    System,
}

/// A field that may be absent; unlike `Option`, `null` is not absent (a
/// field of another kind given as `null` is refused as the tagged enum
/// refuses it).
#[derive(Default)]
enum Given<T> {
    #[default]
    Absent,
    Present(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Given<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Given::Present)
    }
}

/// Every field of every kind, read in one pass in any order.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnyKind {
    kind: Kind,
    #[serde(default)]
    body: Given<String>,
    #[serde(default)]
    meeting_date: Given<Day>,
    #[serde(default)]
    paragraph: Given<String>,
    #[serde(default)]
    delegate: Given<String>,
    #[serde(default)]
    on_behalf_of: Given<String>,
    #[serde(default)]
    delegation_point: Given<String>,
    #[serde(default)]
    decision_date: Given<Day>,
    #[serde(default)]
    official: Given<String>,
    #[serde(default)]
    unit: Given<String>,
    #[serde(default)]
    component: Given<String>,
}

impl<T> Given<T> {
    fn given(&self) -> bool {
        matches!(self, Given::Present(_))
    }

    fn need<E: serde::de::Error>(self, field: &'static str) -> Result<T, E> {
        match self {
            Given::Present(value) => Ok(value),
            Given::Absent => Err(E::missing_field(field)),
        }
    }
}

impl<'de> Deserialize<'de> for DecidedBy {
    /// Accepts exactly what the tagged enum accepts: `kind` and the fields
    /// of that kind, each once and in any order; a field of another kind is
    /// an unknown field, as it is for the enum.
    ///
    /// Only the object form is read (the stored form); serde's derive would
    /// also have taken a list with the tag first.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object;
        impl<'de> serde::de::Visitor<'de> for Object {
            type Value = AnyKind;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object with `kind`")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<AnyKind, A::Error> {
                AnyKind::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        let f = d.deserialize_map(Object)?;
        let expected: &'static [&'static str] = match f.kind {
            Kind::Body => &["body", "meeting_date", "paragraph"],
            Kind::Delegate => &[
                "delegate",
                "on_behalf_of",
                "delegation_point",
                "decision_date",
            ],
            Kind::Official => &["official", "unit", "decision_date"],
            Kind::System => &["component"],
        };
        let given = [
            ("body", f.body.given()),
            ("meeting_date", f.meeting_date.given()),
            ("paragraph", f.paragraph.given()),
            ("delegate", f.delegate.given()),
            ("on_behalf_of", f.on_behalf_of.given()),
            ("delegation_point", f.delegation_point.given()),
            ("decision_date", f.decision_date.given()),
            ("official", f.official.given()),
            ("unit", f.unit.given()),
            ("component", f.component.given()),
        ];
        if let Some((field, _)) = given
            .iter()
            .find(|(field, given)| *given && !expected.contains(field))
        {
            return Err(serde::de::Error::unknown_field(field, expected));
        }
        Ok(match f.kind {
            Kind::Body => DecidedBy::Body {
                body: f.body.need("body")?,
                meeting_date: f.meeting_date.need("meeting_date")?.0,
                paragraph: f.paragraph.need("paragraph")?,
            },
            Kind::Delegate => DecidedBy::Delegate {
                delegate: f.delegate.need("delegate")?,
                on_behalf_of: f.on_behalf_of.need("on_behalf_of")?,
                delegation_point: f.delegation_point.need("delegation_point")?,
                decision_date: f.decision_date.need("decision_date")?.0,
            },
            Kind::Official => DecidedBy::Official {
                official: f.official.need("official")?,
                unit: f.unit.need("unit")?,
                decision_date: f.decision_date.need("decision_date")?.0,
            },
            Kind::System => DecidedBy::System {
                component: f.component.need("component")?,
            },
        })
    }
}

impl DecidedBy {
    /// The date the decision was taken, if a person or body took it.
    pub fn decision_date(&self) -> Option<NaiveDate> {
        match self {
            DecidedBy::Body { meeting_date, .. } => Some(*meeting_date),
            DecidedBy::Delegate { decision_date, .. }
            | DecidedBy::Official { decision_date, .. } => Some(*decision_date),
            DecidedBy::System { .. } => None,
        }
    }

    fn check_fields(&self) -> Result<(), (&'static str, &'static str)> {
        let fields: &[(&'static str, &str)] = match self {
            DecidedBy::Body {
                body, paragraph, ..
            } => &[
                ("provenance.decided_by.body", body),
                ("provenance.decided_by.paragraph", paragraph),
            ],
            DecidedBy::Delegate {
                delegate,
                on_behalf_of,
                delegation_point,
                ..
            } => &[
                ("provenance.decided_by.delegate", delegate),
                ("provenance.decided_by.on_behalf_of", on_behalf_of),
                ("provenance.decided_by.delegation_point", delegation_point),
            ],
            DecidedBy::Official { official, unit, .. } => &[
                ("provenance.decided_by.official", official),
                ("provenance.decided_by.unit", unit),
            ],
            DecidedBy::System { component } => &[("provenance.decided_by.component", component)],
        };
        match fields.iter().find(|(_, value)| value.trim().is_empty()) {
            Some((field, _)) => Err((field, "P7 beslutsunderlag: får inte vara tom")),
            None => Ok(()),
        }
    }
}

/// How a decision is cited in Swedish: `KF 2025-06-16 § 87`, `delegat
/// ekonomichef (KS p. 3.2) 2026-03-01`, `rektor, skola-1, 2026-02-01`,
/// `system (checkpoint)`.
impl fmt::Display for DecidedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecidedBy::Body {
                body,
                meeting_date,
                paragraph,
            } => write!(f, "{} {meeting_date} § {paragraph}", body.to_uppercase()),
            DecidedBy::Delegate {
                delegate,
                on_behalf_of,
                delegation_point,
                decision_date,
            } => write!(
                f,
                "delegat {delegate} ({} p. {delegation_point}) {decision_date}",
                on_behalf_of.to_uppercase()
            ),
            DecidedBy::Official {
                official,
                unit,
                decision_date,
            } => write!(f, "{official}, {unit}, {decision_date}"),
            DecidedBy::System { component } => write!(f, "system ({component})"),
        }
    }
}

/// Beslutsunderlag: where a decision comes from (P7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    pub decided_by: DecidedBy,
    /// The date the decision takes effect (ikraftträdande).
    #[serde(deserialize_with = "day")]
    pub effective_date: NaiveDate,
    /// Diarienummer of the case, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_number: Option<String>,
    /// The date the protocol was approved (justerat), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_approved: Option<NaiveDate>,
    /// The date the approval was announced on the anslagstavla, when known;
    /// the three weeks for laglighetsprövning run from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announced: Option<NaiveDate>,
}

impl Provenance {
    /// Checks that every provenance field is present (P7); on failure names
    /// the field and the rule.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        self.decided_by.check_fields()
    }

    pub fn new(decided_by: DecidedBy, effective_date: NaiveDate) -> Self {
        Provenance {
            decided_by,
            effective_date,
            case_number: None,
            protocol_approved: None,
            announced: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What serde derives for the tagged enum: the reference the one-pass
    /// reading must agree with.
    #[derive(Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
    enum Derived {
        Body {
            body: String,
            meeting_date: NaiveDate,
            paragraph: String,
        },
        Delegate {
            delegate: String,
            on_behalf_of: String,
            delegation_point: String,
            decision_date: NaiveDate,
        },
        Official {
            official: String,
            unit: String,
            decision_date: NaiveDate,
        },
        System {
            component: String,
        },
    }

    impl From<Derived> for DecidedBy {
        fn from(d: Derived) -> Self {
            match d {
                Derived::Body {
                    body,
                    meeting_date,
                    paragraph,
                } => DecidedBy::Body {
                    body,
                    meeting_date,
                    paragraph,
                },
                Derived::Delegate {
                    delegate,
                    on_behalf_of,
                    delegation_point,
                    decision_date,
                } => DecidedBy::Delegate {
                    delegate,
                    on_behalf_of,
                    delegation_point,
                    decision_date,
                },
                Derived::Official {
                    official,
                    unit,
                    decision_date,
                } => DecidedBy::Official {
                    official,
                    unit,
                    decision_date,
                },
                Derived::System { component } => DecidedBy::System { component },
            }
        }
    }

    #[test]
    fn decided_by_reads_as_the_tagged_enum_reads() {
        let cases = [
            r#"{"kind":"body","body":"kf","meeting_date":"2025-06-16","paragraph":"87"}"#,
            r#"{"body":"kf","paragraph":"87","meeting_date":"2025-06-16","kind":"body"}"#,
            r#"{"kind":"delegate","delegate":"ekonomichef","on_behalf_of":"ks","delegation_point":"3.2","decision_date":"2026-03-01"}"#,
            r#"{"kind":"official","official":"rektor","unit":"skola-1","decision_date":"2026-02-01"}"#,
            r#"{"kind":"system","component":"checkpoint"}"#,
            r#"{"kind":"system","component":"x","body":"kf"}"#,
            r#"{"kind":"system","component":"x","body":null}"#,
            r#"{"kind":"official","official":"a","unit":"b","decision_date":"2026-02-01","meeting_date":"2026-02-01"}"#,
            r#"{"kind":"system","component":"x","extra":1}"#,
            r#"{"kind":"system","component":"x","component":"y"}"#,
            r#"{"kind":"system","kind":"system","component":"x"}"#,
            r#"{"kind":"system"}"#,
            r#"{"kind":"body","body":"kf","paragraph":"87"}"#,
            r#"{"kind":"body","body":"kf","meeting_date":"2025-02-30","paragraph":"87"}"#,
            r#"{"kind":"body","body":null,"meeting_date":"2025-06-16","paragraph":"87"}"#,
            r#"{"kind":"body","body":7,"meeting_date":"2025-06-16","paragraph":"87"}"#,
            r#"{"component":"x"}"#,
            r#"{"kind":"mayor","component":"x"}"#,
            r#"{"kind":null,"component":"x"}"#,
            r#"{"kind":"System","component":"x"}"#,
            r#"{"kind":{"system":null},"component":"x"}"#,
            r#"{}"#,
            r#"null"#,
            r#""system""#,
        ];
        for case in cases {
            let ours = serde_json::from_str::<DecidedBy>(case);
            let derived = serde_json::from_str::<Derived>(case).map(DecidedBy::from);
            match (&ours, &derived) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{case}"),
                (Err(_), Err(_)) => {}
                _ => panic!("{case}: ours {ours:?}, serde's derive {derived:?}"),
            }
        }
        // Dates read as chrono reads them.
        for text in [
            "2025-06-16",
            "2024-02-29",
            "2025-02-29",
            "2025-13-01",
            "2025-00-10",
            "0000-01-01",
            "9999-12-31",
            "+2025-06-16",
            "2025-6-16",
            "2025-06-16 ",
            "2025/06/16",
            "२०२५-06-16",
            "",
        ] {
            assert_eq!(
                read_day(text).ok(),
                text.parse::<NaiveDate>().ok(),
                "{text}"
            );
        }
        // Only the object form is read (the derive also took a list).
        assert!(serde_json::from_str::<DecidedBy>(r#"["system","x"]"#).is_err());
        // Every kind written is read back.
        for case in &cases[..5] {
            let read: DecidedBy = serde_json::from_str(case).unwrap();
            let again: DecidedBy =
                serde_json::from_str(&serde_json::to_string(&read).unwrap()).unwrap();
            assert_eq!(read, again);
        }
        // The error names the field, as serde's does.
        let e = serde_json::from_str::<DecidedBy>(r#"{"kind":"system","body":"kf"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("unknown field `body`, expected `component`"),
            "{e}"
        );
        let e = serde_json::from_str::<DecidedBy>(r#"{"kind":"body","body":"kf"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("missing field `meeting_date`"), "{e}");
    }
}
