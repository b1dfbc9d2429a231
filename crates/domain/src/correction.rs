//! Correction: a rättelse of a recorded decision (förvaltningslagen 36 §).

use crate::decide::*;
use crate::*;

impl KommunState {
    /// `correct_decision`: see [`Command::CorrectDecision`].
    pub(crate) fn decide_correct_decision(
        &self,
        provenance: &Provenance,
        c: &CorrectDecision,
    ) -> Decided {
        let CorrectDecision {
            corrects,
            reason,
            corrections,
        } = c;
        let Some(original) = self.decisions.get(corrects) else {
            return reject(
                Rule::Reference,
                "corrects",
                format!("ingen registrerad händelse {corrects}"),
            );
        };
        if !same_decider(original, &provenance.decided_by) {
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
        Ok(vec![Event::DecisionCorrected(DecisionCorrected {
            corrects: *corrects,
            reason: reason.clone(),
            corrections: corrections.clone(),
        })])
    }
}
