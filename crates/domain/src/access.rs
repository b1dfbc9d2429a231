//! Behörighet: who may record which decisions. Grants are decisions in the
//! kommun's own history (KS, or an administrator, grants and revokes them),
//! so "who could write what, and when" is part of what an auditor verifies.
//!
//! The identity is the caller's authenticated NATS user, never something the
//! request says about itself. The first `register_kommun` makes its recorder
//! the kommun's first administrator.

use crate::command::Command;
use crate::decide::{check_id, reject, Decided};
use crate::event::Event;
use crate::model::{Access, BodyKind};
use crate::rejection::{Rejection, Rule};
use crate::state::KommunState;
use crate::*;
use crate::{AccessGranted, AccessRevoked, GrantAccess, RevokeAccess};
use styr_provenance::{DecidedBy, Provenance};

impl KommunState {
    /// Decides a command recorded by `identity`: first whether that identity
    /// may record a decision with this provenance (P1), then the command
    /// itself. The first `register_kommun` also grants its recorder the
    /// administrator role.
    pub fn decide_as(&self, identity: &str, provenance: &Provenance, command: &Command) -> Decided {
        self.decide_as_with(identity, provenance, command, None)
    }

    /// As [`decide_as`](Self::decide_as), given the recorded decision a
    /// rättelse corrects (see [`KommunState::decide_with`]).
    pub fn decide_as_with(
        &self,
        identity: &str,
        provenance: &Provenance,
        command: &Command,
        original: Option<&crate::Original>,
    ) -> Decided {
        check_id("recorded_by", identity)?;
        if self.kommun.is_none() {
            let mut events = self.decide_with(provenance, command, original)?;
            if matches!(command, Command::RegisterKommun(_)) {
                events.push(Event::AccessGranted(AccessGranted {
                    identity: identity.to_owned(),
                    access: Access::Administrator,
                }));
            }
            return Ok(events);
        }
        self.may_record(identity, provenance, command)?;
        self.decide_with(provenance, command, original)
    }

    fn holds(&self, identity: &str, access: &Access) -> bool {
        self.access
            .get(identity)
            .is_some_and(|a| a.contains(access))
    }

    /// Whether `identity` may record this decision (P1).
    pub fn may_record(
        &self,
        identity: &str,
        provenance: &Provenance,
        command: &Command,
    ) -> Result<(), Rejection> {
        if self.holds(identity, &Access::Administrator) {
            return Ok(());
        }
        let refuse = |what: String| {
            Err(Rejection::new(
                Rule::P1,
                "provenance.decided_by",
                format!("{identity} får inte registrera {what}"),
            ))
        };
        // The administrator role is granted or taken only by an
        // administrator: a KS grantee cannot make itself one.
        if let Command::GrantAccess(GrantAccess {
            access: Access::Administrator,
            ..
        })
        | Command::RevokeAccess(RevokeAccess {
            access: Access::Administrator,
            ..
        }) = command
        {
            return refuse(
                "administratörsbehörighet: den beviljas bara av en administratör".into(),
            );
        }
        if matches!(command, Command::GrantAccess(_) | Command::RevokeAccess(_)) {
            // Behörigheter beslutas av KS (or an administrator, above).
            return match self.responsible_body(&provenance.decided_by) {
                Some(b)
                    if self.bodies.get(&b).map(|x| x.kind) == Some(BodyKind::ExecutiveBoard)
                        && self.holds(identity, &Access::Body { body: b.clone() }) =>
                {
                    Ok(())
                }
                _ => refuse(
                    "behörigheter: de beslutas av kommunstyrelsen eller en administratör".into(),
                ),
            };
        }
        // An official acts for the nämnder the unit answers to. Which of
        // them a decision is for is the decision's own matter (P1 decides
        // it), so a unit answering to several needs a grant for each.
        if let DecidedBy::Official { unit, .. } = &provenance.decided_by {
            if let Some(u) = self.units.get(unit) {
                let missing: Vec<String> = u
                    .responsible()
                    .into_iter()
                    .filter(|b| {
                        !self.holds(
                            identity,
                            &Access::Body {
                                body: (*b).to_owned(),
                            },
                        )
                    })
                    .map(str::to_uppercase)
                    .collect();
                return if missing.is_empty() {
                    Ok(())
                } else {
                    refuse(format!("beslut för {}", missing.join(", ")))
                };
            }
        }
        match self.responsible_body(&provenance.decided_by) {
            Some(body) if self.holds(identity, &Access::Body { body: body.clone() }) => Ok(()),
            Some(body) => refuse(format!("beslut för {}", body.to_uppercase())),
            None => refuse("systemets egna händelser".into()),
        }
    }

    /// The body a decision belongs to: the body at its meeting, the body a
    /// delegat acts for, or the nämnd an official's unit belongs to.
    fn responsible_body(&self, decided_by: &DecidedBy) -> Option<String> {
        match decided_by {
            DecidedBy::Body { body, .. } => Some(body.clone()),
            DecidedBy::Delegate { on_behalf_of, .. } => Some(on_behalf_of.clone()),
            DecidedBy::Official { unit, .. } => self
                .units
                .get(unit)
                .map(|u| u.namnd.clone())
                .or_else(|| Some(unit.clone())),
            DecidedBy::System { .. } => None,
        }
    }

    /// `grant_access` (`grant`) or `revoke_access`: a grant held is not
    /// granted again (P6); only a grant held can be revoked (reference).
    pub(crate) fn decide_grant(&self, identity: &str, access: &Access, grant: bool) -> Decided {
        self.check_access(identity, access)?;
        let held = self.holds(identity, access);
        match (grant, held) {
            (true, true) => reject(
                Rule::P6,
                "access",
                format!("{identity} har redan behörigheten {access}"),
            ),
            (false, false) => reject(
                Rule::Reference,
                "access",
                format!("{identity} har inte behörigheten {access}"),
            ),
            (true, false) => Ok(vec![Event::AccessGranted(AccessGranted {
                identity: identity.to_owned(),
                access: access.clone(),
            })]),
            (false, true) => Ok(vec![Event::AccessRevoked(AccessRevoked {
                identity: identity.to_owned(),
                access: access.clone(),
            })]),
        }
    }

    pub(crate) fn check_access(&self, identity: &str, access: &Access) -> Result<(), Rejection> {
        check_id("identity", identity)?;
        if let Access::Body { body } = access {
            if !self.bodies.contains_key(body) {
                return reject(
                    Rule::Reference,
                    "access.body",
                    format!("inget organ {body:?}"),
                );
            }
        }
        Ok(())
    }
}

impl KommunState {
    pub(crate) fn decide_grant_access(&self, _provenance: &Provenance, c: &GrantAccess) -> Decided {
        let GrantAccess { identity, access } = c;
        self.decide_grant(identity, access, true)
    }

    pub(crate) fn decide_revoke_access(
        &self,
        _provenance: &Provenance,
        c: &RevokeAccess,
    ) -> Decided {
        let RevokeAccess { identity, access } = c;
        self.decide_grant(identity, access, false)
    }
}

/// Folding this area's events into the state.
impl KommunState {
    pub(crate) fn evolve_access_granted(&mut self, _meta: &EventMeta, e: &AccessGranted) {
        let AccessGranted { identity, access } = e.clone();
        self.access.entry(identity).or_default().insert(access);
    }

    pub(crate) fn evolve_access_revoked(&mut self, _meta: &EventMeta, e: &AccessRevoked) {
        let AccessRevoked { identity, access } = e.clone();
        if let Some(set) = self.access.get_mut(&identity) {
            set.remove(&access);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Body;

    fn kommun() -> KommunState {
        let mut s = KommunState::default();
        for (id, kind) in [
            ("ks", BodyKind::ExecutiveBoard),
            ("bun", BodyKind::Committee),
        ] {
            s.bodies.insert(
                id.into(),
                Body {
                    kind,
                    name: id.into(),
                    area: id.into(),
                    parent_company: None,
                    forbund: None,
                },
            );
        }
        s
    }

    fn bun() -> Access {
        Access::Body { body: "bun".into() }
    }

    #[test]
    fn a_grant_is_given_once_and_only_a_held_grant_is_revoked() {
        let mut s = kommun();
        assert!(s.decide_grant("sekr", &bun(), true).is_ok());
        s.access.entry("sekr".into()).or_default().insert(bun());
        let again = s.decide_grant("sekr", &bun(), true).unwrap_err();
        assert_eq!((again.rule, again.field.as_str()), (Rule::P6, "access"));
        assert!(s.decide_grant("sekr", &bun(), false).is_ok());
        let none = s.decide_grant("other", &bun(), false).unwrap_err();
        assert_eq!(none.rule, Rule::Reference);
        let unknown = s
            .decide_grant("sekr", &Access::Body { body: "xn".into() }, true)
            .unwrap_err();
        assert_eq!(
            (unknown.rule, unknown.field.as_str()),
            (Rule::Reference, "access.body")
        );
        let bad = s.decide_grant("två ord", &bun(), true).unwrap_err();
        assert_eq!((bad.rule, bad.field.as_str()), (Rule::Input, "identity"));
    }
}
