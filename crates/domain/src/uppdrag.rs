//! Uppdrag: what KF gives a nämnd to do (given, changed, extended and closed in the budget decisions), and the nämnd's status reports.

use chrono::Datelike;

use crate::decide::*;
use crate::*;

impl KommunState {
    /// `report_uppdrag_status`: see [`Command::ReportUppdragStatus`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
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
