//! Direction: vision, mål for the mandatperiod and styrdokument (policy, program, riktlinje …).

use crate::decide::*;
use crate::state::*;
use crate::*;

impl KommunState {
    /// `adopt_direction`: see [`Command::AdoptDirection`].
    pub(crate) fn decide_adopt_direction(
        &self,
        provenance: &Provenance,
        c: &AdoptDirection,
    ) -> Decided {
        let AdoptDirection {
            id,
            kind,
            title,
            text,
            period,
        } = c;
        self.authorize(provenance, Authority::Council)?;
        check_id("id", id)?;
        check_text("title", title)?;
        check_text("text", text)?;
        if self.directions.contains_key(id) {
            return reject(
                Rule::P6,
                "id",
                format!("{id:?} är redan antagen; anta en ny"),
            );
        }
        match (kind, period) {
            (DirectionKind::StrategiskPlan, None) => {
                return reject(
                    Rule::Input,
                    "period",
                    "en strategisk plan omfattar en mandatperiod",
                )
            }
            (_, Some(p)) if p.to_year - p.from_year != 3 => {
                return reject(Rule::Consistency, "period", "en mandatperiod är fyra år")
            }
            _ => {}
        }
        Ok(vec![Event::DirectionAdopted(DirectionAdopted {
            id: id.clone(),
            kind: *kind,
            title: title.clone(),
            text: text.clone(),
            period: *period,
        })])
    }

    /// `adopt_styrdokument`: see [`Command::AdoptStyrdokument`].
    pub(crate) fn decide_adopt_styrdokument(
        &self,
        provenance: &Provenance,
        c: &AdoptStyrdokument,
    ) -> Decided {
        let AdoptStyrdokument {
            doc,
            kind,
            title,
            owner,
            valid_from,
            valid_until,
            replaces_version,
        } = c;
        check_id("doc", doc)?;
        check_text("title", title)?;
        if !self.bodies.contains_key(owner) {
            return reject(Rule::Reference, "owner", format!("inget organ {owner:?}"));
        }
        if kind.council_only() && Some(owner) != self.council() {
            return reject(
                Rule::P1,
                "owner",
                format!("{} ägs och antas av kommunfullmäktige", kind.swedish()),
            );
        }
        self.authorize(provenance, Authority::Body(owner))?;
        if valid_until.is_some_and(|u| u < *valid_from) {
            return reject(
                Rule::Consistency,
                "valid_until",
                "slutar gälla innan det börjar gälla",
            );
        }
        let version = match (self.documents.get(doc), replaces_version) {
            (None, None) => 1,
            (None, Some(_)) => {
                return reject(
                    Rule::Reference,
                    "replaces_version",
                    format!("inget styrdokument {doc:?}"),
                )
            }
            (Some(_), None) => {
                return reject(
                    Rule::P6,
                    "replaces_version",
                    format!("{doc:?} finns redan: en revidering anger vilken version den ersätter"),
                )
            }
            (Some(d), Some(v)) => {
                if d.repealed {
                    return reject(Rule::P6, "doc", format!("{doc:?} är upphävt"));
                }
                if *v != d.version {
                    return reject(
                        Rule::P6,
                        "replaces_version",
                        format!("gällande version är {}, inte {v}", d.version),
                    );
                }
                if d.kind != *kind {
                    return reject(
                        Rule::Input,
                        "kind",
                        "en revidering behåller styrdokumentets typ",
                    );
                }
                v + 1
            }
        };
        Ok(vec![Event::StyrdokumentAdopted(StyrdokumentAdopted {
            doc: doc.clone(),
            version,
            kind: *kind,
            title: title.clone(),
            owner: owner.clone(),
            valid_from: *valid_from,
            valid_until: *valid_until,
            replaces_version: *replaces_version,
        })])
    }

    pub(crate) fn decide_repeal_styrdokument(
        &self,
        provenance: &Provenance,
        c: &RepealStyrdokument,
    ) -> Decided {
        let RepealStyrdokument { doc, reason } = c;
        let Some(d) = self.documents.get(doc) else {
            return reject(
                Rule::Reference,
                "doc",
                format!("inget styrdokument {doc:?}"),
            );
        };
        self.authorize(provenance, Authority::Body(&d.owner))?;
        check_text("reason", reason)?;
        if d.repealed {
            return reject(Rule::P6, "doc", format!("{doc:?} är redan upphävt"));
        }
        Ok(vec![Event::StyrdokumentRepealed(StyrdokumentRepealed {
            doc: doc.clone(),
            reason: reason.clone(),
        })])
    }
}

/// Folding this area's events into the state.
impl KommunState {
    pub(crate) fn evolve_direction_adopted(&mut self, _meta: &EventMeta, e: &DirectionAdopted) {
        let DirectionAdopted { id, kind, .. } = e.clone();
        self.directions.insert(id, kind);
    }

    pub(crate) fn evolve_styrdokument_adopted(
        &mut self,
        _meta: &EventMeta,
        e: &StyrdokumentAdopted,
    ) {
        let StyrdokumentAdopted {
            doc,
            version,
            kind,
            owner,
            valid_from,
            valid_until,
            ..
        } = e.clone();
        self.documents.insert(
            doc,
            Styrdokument {
                kind,
                owner,
                version,
                repealed: false,
                valid_from,
                valid_until,
            },
        );
    }

    pub(crate) fn evolve_styrdokument_repealed(
        &mut self,
        _meta: &EventMeta,
        e: &StyrdokumentRepealed,
    ) {
        let StyrdokumentRepealed { doc, .. } = e.clone();
        if let Some(d) = self.documents.get_mut(&doc) {
            d.repealed = true;
        }
    }
}
