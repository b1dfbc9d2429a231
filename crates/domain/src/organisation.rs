//! Organisation: the kommun, its bodies (KF, KS, nämnder, bolag, revisorer), units and delegation.

use crate::decide::*;
use crate::state::*;
use crate::*;

impl KommunState {
    /// `register_kommun`: see [`Command::RegisterKommun`].
    pub(crate) fn decide_register_kommun(
        &self,
        provenance: &Provenance,
        c: &RegisterKommun,
    ) -> Decided {
        let RegisterKommun {
            name,
            kommunkod,
            council,
            forbund,
        } = c;
        if self.kommun.is_some() {
            return reject(Rule::P6, "command", "kommunen är redan registrerad");
        }
        check_text("name", name)?;
        if kommunkod.len() != 4 || !kommunkod.bytes().all(|b| b.is_ascii_digit()) {
            return reject(
                Rule::Input,
                "kommunkod",
                "ska vara fyra siffror, t.ex. 0884",
            );
        }
        check_id("council", council)?;
        if let Some(f) = forbund {
            check_members("forbund.members", &f.members, kommunkod)?;
        }
        match &provenance.decided_by {
            DecidedBy::Body { body, .. } if body == council => {}
            _ => {
                return reject(
                    Rule::P1,
                    "provenance.decided_by",
                    format!(
                        "kommunen registreras av sitt fullmäktige {council:?} vid ett sammanträde"
                    ),
                )
            }
        }
        Ok(vec![
            Event::KommunRegistered(KommunRegistered {
                name: name.clone(),
                kommunkod: kommunkod.clone(),
                council: council.clone(),
                forbund: forbund.clone(),
            }),
            Event::BodyEstablished(BodyEstablished {
                body: council.clone(),
                kind: BodyKind::Council,
                name: match forbund.as_ref().map(|f| f.organ) {
                    None => "Kommunfullmäktige".into(),
                    Some(ForbundOrgan::Forbundsfullmaktige) => "Förbundsfullmäktige".into(),
                    Some(ForbundOrgan::Direktion) => "Förbundsdirektionen".into(),
                },
                area: if forbund.is_some() {
                    "Förbundets högsta beslutande organ".into()
                } else {
                    "Kommunens högsta beslutande organ".into()
                },
                parent_company: None,
                forbund: None,
            }),
        ])
    }

    /// `establish_body`: see [`Command::EstablishBody`].
    pub(crate) fn decide_establish_body(
        &self,
        provenance: &Provenance,
        c: &EstablishBody,
    ) -> Decided {
        let EstablishBody {
            body,
            kind,
            name,
            area,
            parent_company,
            forbund,
        } = c;
        self.authorize(provenance, Authority::Council)?;
        check_id("body", body)?;
        check_text("name", name)?;
        check_text("area", area)?;
        if self.bodies.contains_key(body) {
            return reject(Rule::P6, "body", format!("organet {body:?} finns redan"));
        }
        if *kind == BodyKind::Council {
            return reject(
                Rule::Input,
                "kind",
                "kommunen har ett enda fullmäktige, som registreras tillsammans med kommunen",
            );
        }
        match (kind, parent_company) {
            (BodyKind::Company, Some(parent)) => match self.bodies.get(parent) {
                Some(b) if b.kind == BodyKind::ParentCompany => {}
                _ => {
                    return reject(
                        Rule::Reference,
                        "parent_company",
                        format!("{parent:?} är inget inrättat moderbolag"),
                    )
                }
            },
            (_, Some(_)) => {
                return reject(
                    Rule::Input,
                    "parent_company",
                    "bara ett bolag har ett moderbolag",
                )
            }
            _ => {}
        }
        match (kind, forbund) {
            (BodyKind::Kommunalforbund, Some(f)) => self.check_forbund(f)?,
            (BodyKind::Kommunalforbund, None) => {
                return reject(
                    Rule::Input,
                    "forbund",
                    "ett kommunalförbund anger sina medlemmar och sitt organ, som i förbundsordningen (KL 9 kap)",
                )
            }
            (_, Some(_)) => {
                return reject(
                    Rule::Input,
                    "forbund",
                    "bara ett kommunalförbund har medlemmar och förbundsorgan",
                )
            }
            _ => {}
        }
        Ok(vec![Event::BodyEstablished(BodyEstablished {
            body: body.clone(),
            kind: *kind,
            name: name.clone(),
            area: area.clone(),
            parent_company: parent_company.clone(),
            forbund: forbund.clone(),
        })])
    }

    /// A förbund a member records: its members hold (the recording kommun
    /// among them); its own history's id a valid id.
    fn check_forbund(&self, f: &Forbund) -> Result<(), Rejection> {
        let own = self.kommun.as_ref().map(|k| k.kommunkod.as_str());
        check_members("forbund.members", &f.members, own.unwrap_or_default())?;
        if let Some(stream) = &f.stream {
            check_id("forbund.stream", stream)?;
        }
        Ok(())
    }

    /// `establish_unit`: see [`Command::EstablishUnit`].
    pub(crate) fn decide_establish_unit(
        &self,
        provenance: &Provenance,
        c: &EstablishUnit,
    ) -> Decided {
        let EstablishUnit {
            unit,
            name,
            namnd,
            parent,
            level,
            serves,
        } = c;
        self.operating_body("namnd", namnd)?;
        self.authorize(
            provenance,
            Authority::BodyOrDelegate(namnd, Matter::Organisation),
        )?;
        check_id("unit", unit)?;
        check_text("name", name)?;
        if self.units.contains_key(unit) {
            return reject(Rule::P6, "unit", format!("enheten {unit:?} finns redan"));
        }
        if let Some(p) = parent {
            let Some(pu) = self.units.get(p) else {
                return reject(Rule::Reference, "parent", format!("ingen enhet {p:?}"));
            };
            if pu.namnd != *namnd {
                return reject(
                    Rule::Reference,
                    "parent",
                    format!(
                        "enheten {p:?} är en del av {:?}s förvaltning, inte {namnd:?}s; en enhet där som svarar inför {namnd:?} anges med namnd {:?} och serves [{{\"namnd\": {namnd:?}, \"verksamhet\": …}}]",
                        pu.namnd, pu.namnd
                    ),
                );
            }
            if pu.depth >= MAX_UNIT_DEPTH {
                return reject(
                    Rule::Consistency,
                    "parent",
                    format!("ett enhetsträd har högst {MAX_UNIT_DEPTH} nivåer"),
                );
            }
        }
        // Only KS's förvaltning (one organisation for the whole kommun) lets
        // a unit answer to another nämnd; a facknämnd does not decide what
        // another nämnd's verksamhet is.
        let whole_kommun = self.executive_board() == Some(namnd.as_str());
        for (i, a) in serves.iter().enumerate() {
            self.operating_body(&format!("serves[{i}].namnd"), &a.namnd)?;
            if a.namnd != *namnd && !whole_kommun {
                return reject(
                    Rule::P1,
                    format!("serves[{i}].namnd"),
                    format!(
                        "en enhet i {namnd:?}s förvaltning svarar inför {namnd:?}; bara kommunstyrelsens förvaltning har enheter som svarar inför andra nämnder (här {:?})",
                        a.namnd
                    ),
                );
            }
            check_text(&format!("serves[{i}].verksamhet"), &a.verksamhet)?;
            if serves[..i].contains(a) {
                return reject(
                    Rule::Input,
                    format!("serves[{i}]"),
                    "samma nämnd och verksamhet finns redan",
                );
            }
        }
        Ok(vec![Event::UnitEstablished(UnitEstablished {
            unit: unit.clone(),
            name: name.clone(),
            namnd: namnd.clone(),
            parent: parent.clone(),
            level: *level,
            serves: serves.clone(),
        })])
    }

    pub(crate) fn decide_grant_delegation(
        &self,
        provenance: &Provenance,
        c: &GrantDelegation,
    ) -> Decided {
        let GrantDelegation {
            body,
            point,
            delegate,
            matters,
        } = c;
        if !self.bodies.contains_key(body) {
            return reject(Rule::Reference, "body", format!("inget organ {body:?}"));
        }
        self.authorize(provenance, Authority::Body(body))?;
        check_text("point", point)?;
        check_text("delegate", delegate)?;
        if matters.is_empty() {
            return reject(
                Rule::Input,
                "matters",
                "en delegering omfattar minst ett ärendeslag",
            );
        }
        Ok(vec![Event::DelegationGranted(DelegationGranted {
            body: body.clone(),
            point: point.clone(),
            delegate: delegate.clone(),
            matters: matters.clone(),
        })])
    }
}

/// Folding this area's events into the state.
impl KommunState {
    pub(crate) fn evolve_kommun_registered(&mut self, meta: &EventMeta, e: &KommunRegistered) {
        let KommunRegistered {
            name,
            kommunkod,
            council,
            forbund,
        } = e.clone();
        self.registered = meta.decided_by.decision_date();
        self.kommun = Some(KommunInfo {
            name,
            kommunkod,
            council,
            forbund,
        })
    }

    pub(crate) fn evolve_body_established(&mut self, _meta: &EventMeta, e: &BodyEstablished) {
        let BodyEstablished {
            body,
            kind,
            name,
            area,
            parent_company,
            forbund,
        } = e.clone();
        self.bodies.insert(
            body,
            Body {
                kind,
                name,
                area,
                parent_company,
                forbund,
            },
        );
    }

    pub(crate) fn evolve_unit_established(&mut self, _meta: &EventMeta, e: &UnitEstablished) {
        let UnitEstablished {
            unit,
            name,
            namnd,
            parent,
            level,
            serves,
        } = e.clone();
        let depth = parent
            .as_ref()
            .and_then(|p| self.units.get(p))
            .map_or(1, |p| p.depth + 1);
        self.units.insert(
            unit,
            Unit {
                name,
                namnd,
                parent,
                level,
                depth,
                serves,
            },
        );
    }

    pub(crate) fn evolve_delegation_granted(&mut self, _meta: &EventMeta, e: &DelegationGranted) {
        let DelegationGranted {
            body,
            point,
            delegate,
            matters,
        } = e.clone();
        self.delegations
            .insert((body, point), Delegation { delegate, matters });
    }
}

impl KommunState {
    /// `record_election`: see [`Command::RecordElection`].
    pub(crate) fn decide_record_election(&self, p: &Provenance, c: &RecordElection) -> Decided {
        use chrono::Datelike;
        self.authorize(p, Authority::Council)?;
        let RecordElection {
            date,
            kind,
            mandate_from,
        } = c.clone();
        if self.elections.contains_key(&date) {
            return reject(
                Rule::P6,
                "date",
                format!("valet {date} är redan registrerat"),
            );
        }
        let (from, to) = match kind {
            ElectionKind::Ordinary => {
                let second_sunday = date.month() == 9
                    && date.weekday() == chrono::Weekday::Sun
                    && (8..=14).contains(&date.day());
                if !second_sunday {
                    return reject(
                        Rule::Input,
                        "date",
                        format!("{date}: ordinarie val hålls andra söndagen i september"),
                    );
                }
                if mandate_from.is_some() {
                    return reject(
                        Rule::Input,
                        "mandate_from",
                        "ett ordinarie vals mandatperiod börjar den 15 oktober valåret; ange den bara för ett extra val",
                    );
                }
                let y = date.year();
                (ymd(y, 10, 15), ymd(y + 4, 10, 14))
            }
            ElectionKind::Extra => {
                let Some(from) = mandate_from.filter(|f| *f >= date) else {
                    return reject(
                        Rule::Input,
                        "mandate_from",
                        "ett extra val behöver dagen då de nyvalda fullmäktiges mandat börjar, tidigast valdagen",
                    );
                };
                // The extra val's fullmäktige serves out the ordinary period.
                let Some(ordinary) = self
                    .elections
                    .values()
                    .rfind(|e| e.kind == ElectionKind::Ordinary && e.date < date)
                else {
                    return reject(
                        Rule::Reference,
                        "date",
                        "inget ordinarie val före det extra valet är registrerat: registrera det först",
                    );
                };
                if from > ordinary.mandate_to {
                    return reject(
                        Rule::Consistency,
                        "mandate_from",
                        format!(
                            "mandatperioden från valet {} slutar {}: ett extra val efter den hör inte till perioden",
                            ordinary.date, ordinary.mandate_to
                        ),
                    );
                }
                (from, ordinary.mandate_to)
            }
        };
        Ok(vec![Event::ElectionRecorded(ElectionRecorded {
            date,
            kind,
            mandate_from: from,
            mandate_to: to,
        })])
    }

    pub(crate) fn evolve_election_recorded(&mut self, _meta: &EventMeta, e: &ElectionRecorded) {
        self.elections.insert(e.date, e.clone());
    }

    /// Whether an ordinary election to fullmäktige was held in `year`.
    pub fn ordinary_election_in(&self, year: i32) -> bool {
        use chrono::Datelike;
        self.elections
            .values()
            .any(|e| e.kind == ElectionKind::Ordinary && e.date.year() == year)
    }
}

/// A date the calendar has (the callers' months and days always exist).
fn ymd(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap_or(chrono::NaiveDate::MIN)
}

/// A kommunalförbund's members: kommunkoder, each once, at least two (KL 9
/// kap), `own` (the recording kommun, or the förbund's säte) among them.
fn check_members(field: &str, members: &[String], own: &str) -> Result<(), Rejection> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, m) in members.iter().enumerate() {
        if m.len() != 4 || !m.bytes().all(|b| b.is_ascii_digit()) {
            return reject(
                Rule::Input,
                format!("{field}[{i}]"),
                "en medlem anges med sin kommunkod, fyra siffror, t.ex. 0884",
            );
        }
        if !seen.insert(m.as_str()) {
            return reject(Rule::Input, format!("{field}[{i}]"), "varje medlem en gång");
        }
    }
    if members.len() < 2 {
        return reject(
            Rule::Consistency,
            field,
            "ett kommunalförbund bildas av minst två medlemmar (KL 9 kap)",
        );
    }
    if !members.iter().any(|m| m == own) {
        return reject(
            Rule::Consistency,
            field,
            format!("{own} är inte bland medlemmarna: kommunen som registrerar förbundet, eller förbundets säte, är medlem"),
        );
    }
    Ok(())
}
