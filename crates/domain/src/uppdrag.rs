//! Uppdrag: what KF gives a nämnd to do (given, changed, extended and closed in the budget decisions), and the nämnd's status reports.

use crate::state::*;
use crate::*;
use chrono::Datelike;

use crate::decide::*;

impl KommunState {
    /// `report_uppdrag_status`: see [`Command::ReportUppdragStatus`].
    pub(crate) fn decide_report_uppdrag_status(
        &self,
        provenance: &Provenance,
        c: &ReportUppdragStatus,
    ) -> Decided {
        let ReportUppdragStatus {
            uppdrag,
            body,
            as_of,
            status,
            reason,
            comment,
        } = c;
        let Some(u) = self.uppdrag.get(uppdrag) else {
            return reject(
                Rule::Reference,
                "uppdrag",
                format!("inget uppdrag {uppdrag:?}"),
            );
        };
        if !u.to.contains(body) {
            return reject(
                Rule::P1,
                "body",
                format!(
                    "uppdraget {uppdrag:?} är givet till {:?}, inte {body:?}",
                    u.to
                ),
            );
        }
        self.authorize(
            provenance,
            Authority::BodyOrDelegate(body, Matter::UppdragReport),
        )?;
        if u.closed {
            return reject(
                Rule::P2,
                "uppdrag",
                format!("uppdraget {uppdrag:?} är avslutat"),
            );
        }
        if *status == UppdragStatus::Delayed
            && reason.as_deref().is_none_or(|r| r.trim().is_empty())
        {
            return reject(
                Rule::Input,
                "reason",
                "ett försenat uppdrag behöver en orsak",
            );
        }
        if as_of.year() < u.given - 1 {
            return reject(Rule::Consistency, "as_of", "innan uppdraget gavs");
        }
        Ok(vec![Event::UppdragStatusReported(UppdragStatusReported {
            uppdrag: uppdrag.clone(),
            body: body.clone(),
            as_of: *as_of,
            status: *status,
            reason: reason.clone(),
            comment: comment.clone(),
        })])
    }
}

/// Folding this area's events into the state.
impl KommunState {
    pub(crate) fn evolve_uppdrag_given(&mut self, _meta: &EventMeta, e: &UppdragGiven) {
        let UppdragGiven {
            budget_year,
            uppdrag:
                GivenUppdrag {
                    id,
                    title,
                    to,
                    resources,
                    due,
                    ..
                },
        } = e.clone();
        self.uppdrag.insert(
            id,
            Uppdrag {
                title,
                to,
                resources,
                given: budget_year,
                due,
                closed: false,
                last_status: None,
            },
        );
    }

    pub(crate) fn evolve_uppdrag_changed(&mut self, _meta: &EventMeta, e: &UppdragChanged) {
        let UppdragChanged {
            id,
            title,
            to,
            resources,
            ..
        } = e.clone();
        if let Some(u) = self.uppdrag.get_mut(&id) {
            if let Some(t) = title {
                u.title = t;
            }
            if let Some(t) = to {
                u.to = t;
            }
            if resources.is_some() {
                u.resources = resources;
            }
        }
    }

    pub(crate) fn evolve_uppdrag_extended(&mut self, _meta: &EventMeta, e: &UppdragExtended) {
        let UppdragExtended { id, due, .. } = e.clone();
        if let Some(u) = self.uppdrag.get_mut(&id) {
            u.due = due;
        }
    }

    pub(crate) fn evolve_uppdrag_closed(&mut self, _meta: &EventMeta, e: &UppdragClosed) {
        let UppdragClosed { id, .. } = e.clone();
        if let Some(u) = self.uppdrag.get_mut(&id) {
            u.closed = true;
        }
    }

    pub(crate) fn evolve_uppdrag_status_reported(
        &mut self,
        _meta: &EventMeta,
        e: &UppdragStatusReported,
    ) {
        let UppdragStatusReported {
            uppdrag,
            as_of,
            status,
            ..
        } = e.clone();
        if let Some(u) = self.uppdrag.get_mut(&uppdrag) {
            u.last_status = Some((as_of, status));
        }
    }
}
