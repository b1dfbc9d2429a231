use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The rule a rejected command broke (P1–P7, listed in ARCHITECTURE.md, plus plain input
/// and reference checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Rule {
    /// Only the body that owns a decision may record it.
    P1,
    /// Uppdrag are given, changed, extended and closed only by KF in a budget
    /// decision; a closed uppdrag takes nothing more.
    P2,
    /// Every nämndmål and activity links up to goals in force.
    P3,
    /// Money: a detaljbudget distributes its ram, commitments fit what remains.
    P4,
    /// A deviation beyond delegation still open at budgetuppföljning or
    /// delårsrapport needs the nämnd's åtgärdsplan.
    P5,
    /// Nothing recorded is changed: ids are never reused, decisions are
    /// amended by new decisions that name what they amend.
    P6,
    /// Provenance is complete and its dates consistent.
    P7,
    /// Something named does not exist.
    #[serde(rename = "reference")]
    Reference,
    /// Years and dates that contradict each other or the calendar.
    #[serde(rename = "consistency")]
    Consistency,
    /// A malformed value.
    #[serde(rename = "input")]
    Input,
    /// What Kommunallagen (2017:725) asks of the decision; the message names
    /// the chapter and paragraph.
    #[serde(rename = "law")]
    Law,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Rule::P1 => "P1 befogenhet",
            Rule::P2 => "P2 uppdragets livscykel",
            Rule::P3 => "P3 den röda tråden",
            Rule::P4 => "P4 inom budget",
            Rule::P5 => "P5 åtgärdsplan",
            Rule::P6 => "P6 inget registrerat ändras",
            Rule::P7 => "P7 beslutets ursprung",
            Rule::Reference => "hänvisning",
            Rule::Consistency => "samstämmighet",
            Rule::Input => "indata",
            Rule::Law => "kommunallagen",
        };
        f.write_str(s)
    }
}

/// Avslag: why a command was not recorded, naming the rule and the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Rejection {
    pub rule: Rule,
    /// The offending field, as a path into the command (`ramar[2].amount`).
    pub field: String,
    pub message: String,
}

impl Rejection {
    pub fn new(rule: Rule, field: impl Into<String>, message: impl Into<String>) -> Self {
        Rejection {
            rule,
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.field, self.rule, self.message)
    }
}

impl std::error::Error for Rejection {}
