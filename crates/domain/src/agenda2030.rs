//! Agenda 2030: the 17 global goals (globala målen) and their 169 targets
//! (delmål), as the UN General Assembly adopted them on 25 September 2015
//! (resolution A/RES/70/1). The list is fixed and versioned: a goal or an
//! indicator names the goals (`"4"`) or targets (`"4.1"`, `"4.a"`) it
//! serves, and a tag that is not on the list is refused.

use crate::decide::reject;
use crate::rejection::{Rejection, Rule};

/// The version of the list shipped, as a tag's reader can cite it.
pub const AGENDA2030_VERSION: &str =
    "FN:s resolution A/RES/70/1 (25 september 2015): 17 mål, 169 delmål";

/// Globalt mål: one of Agenda 2030's 17 goals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalGoal {
    pub number: u8,
    /// Its short name in Swedish, as the Swedish government names it.
    pub name: &'static str,
    /// Targets numbered `N.1` … `N.numbered`.
    numbered: u8,
    /// Means-of-implementation targets `N.a` … (as many letters).
    lettered: u8,
}

const fn goal(number: u8, name: &'static str, numbered: u8, lettered: u8) -> GlobalGoal {
    GlobalGoal {
        number,
        name,
        numbered,
        lettered,
    }
}

/// The 17 goals in order.
pub const GLOBAL_GOALS: [GlobalGoal; 17] = [
    goal(1, "Ingen fattigdom", 5, 2),
    goal(2, "Ingen hunger", 5, 3),
    goal(3, "Hälsa och välbefinnande", 9, 4),
    goal(4, "God utbildning för alla", 7, 3),
    goal(5, "Jämställdhet", 6, 3),
    goal(6, "Rent vatten och sanitet för alla", 6, 2),
    goal(7, "Hållbar energi för alla", 3, 2),
    goal(8, "Anständiga arbetsvillkor och ekonomisk tillväxt", 10, 2),
    goal(9, "Hållbar industri, innovationer och infrastruktur", 5, 3),
    goal(10, "Minskad ojämlikhet", 7, 3),
    goal(11, "Hållbara städer och samhällen", 7, 3),
    goal(12, "Hållbar konsumtion och produktion", 8, 3),
    goal(13, "Bekämpa klimatförändringarna", 3, 2),
    goal(14, "Hav och marina resurser", 7, 3),
    goal(15, "Ekosystem och biologisk mångfald", 9, 3),
    goal(16, "Fredliga och inkluderande samhällen", 10, 2),
    goal(17, "Genomförande och globalt partnerskap", 19, 0),
];

impl GlobalGoal {
    /// The goal by its number, 1–17.
    pub fn get(number: u8) -> Option<&'static GlobalGoal> {
        GLOBAL_GOALS.get(usize::from(number).checked_sub(1)?)
    }

    /// Its targets' ids in order: `4.1` … `4.7`, `4.a` … `4.c`.
    pub fn targets(&self) -> Vec<String> {
        let n = self.number;
        (1..=self.numbered)
            .map(|t| format!("{n}.{t}"))
            .chain((0..self.lettered).map(|l| format!("{n}.{}", char::from(b'a' + l))))
            .collect()
    }

    fn has_target(&self, target: &str) -> bool {
        match target.as_bytes() {
            [l] if l.is_ascii_lowercase() => l - b'a' < self.lettered,
            _ => {
                digits(target)
                    && !target.starts_with('0')
                    && target
                        .parse::<u8>()
                        .is_ok_and(|t| (1..=self.numbered).contains(&t))
            }
        }
    }
}

/// The global goal a tag (`"4"` or `"4.1"`) belongs to, when the tag is on
/// the list.
pub fn global_goal_of(tag: &str) -> Option<u8> {
    let (goal, target) = match tag.split_once('.') {
        Some((g, t)) => (g, Some(t)),
        None => (tag, None),
    };
    if goal.starts_with('0') || !digits(goal) {
        return None;
    }
    let g = GlobalGoal::get(goal.parse().ok()?)?;
    match target {
        None => Some(g.number),
        Some(t) => g.has_target(t).then_some(g.number),
    }
}

/// One or more ASCII digits, nothing else (no sign, no space).
fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a list of Agenda 2030 tags: each a goal (`4`) or a target of it
/// (`4.1`, `4.a`) on the shipped list, each once.
pub(crate) fn check_tags(field: &str, tags: &[String]) -> Result<(), Rejection> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, tag) in tags.iter().enumerate() {
        if global_goal_of(tag).is_none() {
            return reject(
                Rule::Input,
                format!("{field}[{i}]"),
                format!(
                    "{tag:?} är inget av Agenda 2030:s mål eller delmål: skriv målets nummer 1–17 (\"4\") eller ett delmål (\"4.1\", \"4.a\"); listan: {AGENDA2030_VERSION}"
                ),
            );
        }
        if !seen.insert(tag.as_str()) {
            return reject(Rule::Input, format!("{field}[{i}]"), "varje mål en gång");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_has_17_goals_and_169_targets() {
        let targets: usize = GLOBAL_GOALS.iter().map(|g| g.targets().len()).sum();
        assert_eq!(targets, 169);
        for (i, g) in GLOBAL_GOALS.iter().enumerate() {
            assert_eq!(usize::from(g.number), i + 1);
            for t in g.targets() {
                assert_eq!(global_goal_of(&t), Some(g.number), "{t}");
            }
        }
    }

    #[test]
    fn tags_off_the_list_are_not_read_as_goals() {
        for bad in [
            "0", "18", "4.8", "4.d", "17.a", "04", "4.01", "4.", ".1", "x", "", "+4", "4.+1", " 4",
        ] {
            assert_eq!(global_goal_of(bad), None, "{bad}");
        }
        assert_eq!(global_goal_of("4"), Some(4));
        assert_eq!(global_goal_of("4.c"), Some(4));
        assert_eq!(global_goal_of("17.19"), Some(17));
    }
}
