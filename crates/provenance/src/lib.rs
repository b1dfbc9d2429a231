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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
