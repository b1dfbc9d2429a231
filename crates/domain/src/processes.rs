//! Processes and målgrupper: goals that cross the organisation. KF or KS
//! defines the målgrupper and establishes processes with an owner; a
//! process's goals are adopted by KF or its owner; nämnder, KS, bolag and
//! kommunalförbund record their contributions (bidrag), each decided by the
//! contributing body (P1).

use crate::decide::*;
use crate::state::*;
use crate::*;

impl KommunState {
    /// `define_malgrupp`: see [`Command::DefineMalgrupp`].
    pub(crate) fn decide_define_malgrupp(
        &self,
        provenance: &Provenance,
        c: &DefineMalgrupp,
    ) -> Decided {
        let DefineMalgrupp {
            malgrupp,
            name,
            description,
        } = c;
        self.authorize(provenance, Authority::CouncilOrBoard)?;
        check_id("malgrupp", malgrupp)?;
        check_text("name", name)?;
        if self.malgrupper.contains_key(malgrupp) {
            return reject(
                Rule::P6,
                "malgrupp",
                format!("målgruppen {malgrupp:?} finns redan"),
            );
        }
        Ok(vec![Event::MalgruppDefined(MalgruppDefined {
            malgrupp: malgrupp.clone(),
            name: name.clone(),
            description: description.clone(),
        })])
    }

    /// `establish_process`: see [`Command::EstablishProcess`].
    pub(crate) fn decide_establish_process(
        &self,
        provenance: &Provenance,
        c: &EstablishProcess,
    ) -> Decided {
        let EstablishProcess {
            process,
            name,
            purpose,
            owner,
            malgrupper,
        } = c;
        self.authorize(provenance, Authority::CouncilOrBoard)?;
        check_id("process", process)?;
        check_text("name", name)?;
        check_text("purpose", purpose)?;
        if self.processes.contains_key(process) {
            return reject(
                Rule::P6,
                "process",
                format!("processen {process:?} finns redan"),
            );
        }
        if Some(owner) != self.council() {
            self.operating_body("owner", owner)?;
        }
        if malgrupper.is_empty() {
            return reject(
                Rule::Input,
                "malgrupper",
                "en process riktar sig till minst en målgrupp",
            );
        }
        self.check_malgrupper("malgrupper", malgrupper)?;
        Ok(vec![Event::ProcessEstablished(ProcessEstablished {
            process: process.clone(),
            name: name.clone(),
            purpose: purpose.clone(),
            owner: owner.clone(),
            malgrupper: malgrupper.clone(),
        })])
    }

    /// `adopt_process_goals`: see [`Command::AdoptProcessGoals`].
    pub(crate) fn decide_adopt_process_goals(
        &self,
        provenance: &Provenance,
        c: &AdoptProcessGoals,
    ) -> Decided {
        let AdoptProcessGoals { process, goals } = c;
        let Some(p) = self.processes.get(process) else {
            return reject(
                Rule::Reference,
                "process",
                format!("ingen process {process:?}"),
            );
        };
        self.authorize(provenance, Authority::CouncilOr(&p.owner))?;
        if goals.is_empty() {
            return reject(Rule::Input, "goals", "minst ett processmål");
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut events = Vec::new();
        for (i, g) in goals.iter().enumerate() {
            let f = |n: &str| format!("goals[{i}].{n}");
            self.check_new_goal(&f, &g.id, &g.title, &mut seen)?;
            for (name, y) in [("from_year", g.from_year), ("to_year", g.to_year)] {
                if !crate::YEARS.contains(&y) {
                    return reject(
                        Rule::Input,
                        f(name),
                        format!(
                            "{y} ligger utanför åren {}–{}",
                            crate::YEARS.start(),
                            crate::YEARS.end()
                        ),
                    );
                }
            }
            if g.to_year < g.from_year || g.to_year - g.from_year > 3 {
                return reject(
                    Rule::Consistency,
                    f("to_year"),
                    "ett processmål gäller 1–4 år",
                );
            }
            // The process runs every year the goal is in force.
            self.open_process("process", process, g.to_year)?;
            self.check_goal_tags(
                &f,
                (g.from_year, g.to_year),
                &g.indicators,
                &g.malgrupper,
                &g.agenda2030,
            )?;
            events.push(Event::ProcessGoalAdopted(ProcessGoalAdopted {
                process: process.clone(),
                goal: AdoptedProcessGoal {
                    id: g.id.clone(),
                    title: g.title.clone(),
                    from_year: g.from_year,
                    to_year: g.to_year,
                    indicators: g.indicators.clone(),
                    malgrupper: g.malgrupper.clone(),
                    agenda2030: g.agenda2030.clone(),
                },
            }));
        }
        Ok(events)
    }

    /// `record_contribution`: see [`Command::RecordContribution`].
    pub(crate) fn decide_record_contribution(
        &self,
        provenance: &Provenance,
        c: &RecordContribution,
    ) -> Decided {
        let RecordContribution {
            contribution,
            body,
            goal,
            year,
            title,
            description,
            namndmal,
            forbund_record,
        } = c;
        self.participating_body("body", body)?;
        self.authorize(provenance, Authority::BodyOrDelegate(body, Matter::Plan))?;
        check_id("contribution", contribution)?;
        check_text("title", title)?;
        if self.contributions.contains_key(contribution) {
            return reject(
                Rule::P6,
                "contribution",
                format!("bidraget {contribution:?} finns redan"),
            );
        }
        let Some(g) = self.goals.get(goal) else {
            return reject(
                Rule::P3,
                "goal",
                format!("inget mål {goal:?} att bidra till"),
            );
        };
        let Some(process) = &g.process else {
            return reject(
                Rule::P3,
                "goal",
                format!("målet {goal:?} hör inte till någon process; en nämnd bryter ned ett KF-mål i sin nämndplan"),
            );
        };
        if !g.in_force(*year) {
            return reject(
                Rule::P3,
                "year",
                format!(
                    "målet {goal:?} gäller {}–{}, inte {year}",
                    g.from_year, g.to_year
                ),
            );
        }
        self.open_process("goal", process, *year)?;
        if let Some(m) = namndmal {
            match self.namndmal.get(m) {
                Some(n) if n.body == *body && n.year == *year && n.kf_goals.contains(goal) => {}
                Some(n) if n.body == *body && n.year == *year => {
                    return reject(
                        Rule::P3,
                        "namndmal",
                        format!("nämndmålet {m:?} bryter inte ned målet {goal:?}"),
                    )
                }
                Some(n) => {
                    return reject(
                        Rule::P3,
                        "namndmal",
                        format!(
                            "nämndmålet {m:?} hör till {} {}, inte till {} {year}",
                            n.body.to_uppercase(),
                            n.year,
                            body.to_uppercase()
                        ),
                    )
                }
                None => {
                    return reject(Rule::Reference, "namndmal", format!("inget nämndmål {m:?}"))
                }
            }
        }
        let forbund_record = match forbund_record {
            None => None,
            Some(r) => {
                let stream = self
                    .bodies
                    .get(body)
                    .and_then(|b| b.forbund.as_ref())
                    .and_then(|f| f.stream.clone());
                let Some(stream) = stream else {
                    return reject(
                        Rule::Reference,
                        "forbund_record",
                        format!("{body:?} är inget kommunalförbund med en egen historik (forbund.stream) att hänvisa till"),
                    );
                };
                if r.sequence == 0 {
                    return reject(
                        Rule::Input,
                        "forbund_record.sequence",
                        "sekvenser börjar på 1",
                    );
                }
                if r.hash.len() != 64 || !r.hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return reject(
                        Rule::Input,
                        "forbund_record.hash",
                        "ska vara händelsens kedjehash, 64 hexadecimala tecken",
                    );
                }
                Some(ForbundRecord {
                    stream,
                    sequence: r.sequence,
                    hash: r.hash.to_ascii_lowercase(),
                })
            }
        };
        Ok(vec![Event::ContributionRecorded(ContributionRecorded {
            contribution: contribution.clone(),
            body: body.clone(),
            goal: goal.clone(),
            process: process.clone(),
            year: *year,
            title: title.clone(),
            description: description.clone(),
            namndmal: namndmal.clone(),
            forbund_record,
        })])
    }

    /// `close_process`: see [`Command::CloseProcess`].
    pub(crate) fn decide_close_process(
        &self,
        provenance: &Provenance,
        c: &CloseProcess,
    ) -> Decided {
        let CloseProcess {
            process,
            last_year,
            reason,
        } = c;
        self.authorize(provenance, Authority::CouncilOrBoard)?;
        check_text("reason", reason)?;
        let Some(p) = self.processes.get(process) else {
            return reject(
                Rule::Reference,
                "process",
                format!("ingen process {process:?}"),
            );
        };
        if let Some(y) = p.last_year {
            return reject(
                Rule::P6,
                "process",
                format!("processen {process:?} är redan avslutad (sista året {y})"),
            );
        }
        Ok(vec![Event::ProcessClosed(ProcessClosed {
            process: process.clone(),
            last_year: *last_year,
            reason: reason.clone(),
        })])
    }

    /// The process exists and runs in `year` (not closed before it).
    pub(crate) fn open_process(
        &self,
        field: &str,
        process: &str,
        year: i32,
    ) -> Result<(), Rejection> {
        match self.processes.get(process) {
            None => reject(Rule::Reference, field, format!("ingen process {process:?}")),
            Some(Process {
                last_year: Some(last),
                ..
            }) if year > *last => reject(
                Rule::P3,
                field,
                format!("processen {process:?} är avslutad: dess sista år var {last}, inte {year}"),
            ),
            Some(_) => Ok(()),
        }
    }

    /// Every målgrupp named is defined, each once.
    pub(crate) fn check_malgrupper(&self, field: &str, names: &[String]) -> Result<(), Rejection> {
        let mut seen = std::collections::BTreeSet::new();
        for (i, m) in names.iter().enumerate() {
            if !self.malgrupper.contains_key(m) {
                return reject(
                    Rule::Reference,
                    format!("{field}[{i}]"),
                    format!("ingen målgrupp {m:?} (define_malgrupp definierar den)"),
                );
            }
            if !seen.insert(m.as_str()) {
                return reject(
                    Rule::Input,
                    format!("{field}[{i}]"),
                    "varje målgrupp en gång",
                );
            }
        }
        Ok(())
    }
}

/// Folding this area's events into the state.
impl KommunState {
    pub(crate) fn evolve_malgrupp_defined(&mut self, _meta: &EventMeta, e: &MalgruppDefined) {
        self.malgrupper.insert(e.malgrupp.clone(), e.name.clone());
    }

    pub(crate) fn evolve_process_established(&mut self, _meta: &EventMeta, e: &ProcessEstablished) {
        self.processes.insert(
            e.process.clone(),
            Process {
                owner: e.owner.clone(),
                last_year: None,
            },
        );
    }

    pub(crate) fn evolve_process_goal_adopted(
        &mut self,
        _meta: &EventMeta,
        e: &ProcessGoalAdopted,
    ) {
        let ProcessGoalAdopted { process, goal } = e.clone();
        for i in &goal.indicators {
            self.indicators.insert((goal.id.clone(), i.id.clone()));
            self.note_kolada_kpi(&goal.id, i);
        }
        self.goals.insert(
            goal.id,
            KfGoal {
                kind: GoalKind::Inriktningsmal,
                title: goal.title,
                from_year: goal.from_year,
                to_year: goal.to_year,
                process: Some(process),
                of_process: true,
            },
        );
    }

    pub(crate) fn evolve_contribution_recorded(
        &mut self,
        _meta: &EventMeta,
        e: &ContributionRecorded,
    ) {
        self.contributions
            .insert(e.contribution.clone(), e.goal.clone());
    }

    pub(crate) fn evolve_process_closed(&mut self, _meta: &EventMeta, e: &ProcessClosed) {
        if let Some(p) = self.processes.get_mut(&e.process) {
            p.last_year = Some(e.last_year);
        }
    }
}
