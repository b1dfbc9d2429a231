//! The NATS micro service: commands and queries as request/reply, per kommun.
//!
//! Subjects (outside the kommun streams' `styr.>` so requests are never stored):
//! - `styrkedja.api.<kommun>.submit` — a [`Submission`]; the reply is a
//!   [`SubmitReply`] (recorded, duplicate, or rejected with rule and field);
//! - `styrkedja.api.<kommun>.query` — a [`QueryRequest`]; the reply is a
//!   [`QueryReply`] (`{kommun, sequence, result}`), the same document
//!   `styr plan|chain|gaps|audit|register --json` prints.
//!
//! Malformed requests get a JSON `{"error": {code, kind, message}}` body and
//! the standard `Nats-Service-Error` / `Nats-Service-Error-Code` headers;
//! nothing is appended; they count as errors in `$SRV.STATS`. Discovery
//! (`$SRV.PING|INFO|STATS`) is [`crate::micro`]'s.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use styr_projections::docs::*;
use styr_projections::{AsOf, KvRead, Projector};
use styr_store::KommunId;

use crate::{micro, Kommuner, Outcome, Submission};

pub const API_PREFIX: &str = "styrkedja.api";
/// The largest request body accepted.
pub const MAX_REQUEST: usize = 256 * 1024;

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SubmitReply {
    /// Recorded now. Pass `last_sequence` as `min_sequence` to a query to
    /// read your own write.
    Recorded {
        first_sequence: u64,
        last_sequence: u64,
        event_ids: Vec<uuid::Uuid>,
    },
    /// Recorded before under the same idempotency key; nothing new.
    Duplicate {
        first_sequence: u64,
        last_sequence: u64,
        event_ids: Vec<uuid::Uuid>,
    },
    /// Not recorded: the rule (P1–P7, reference, consistency, input) and field.
    Rejected {
        rule: styr_domain::Rule,
        field: String,
        message: String,
    },
}

/// Which read model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Query {
    Plan {
        year: i32,
    },
    Chain {
        node: String,
    },
    Gaps {
        year: i32,
        #[serde(default)]
        today: Option<NaiveDate>,
    },
    History {
        entity: String,
    },
    /// `uppdrag`, `deviation`, `report`, `ic`, `finding`, `review`, `goal`,
    /// `body`, `unit`, `plan`, `investment`, `process` (processes with their
    /// målgrupper, goals and contributions), `balanskrav` (obligations to
    /// restore a negative balanskravsresultat), `access` (behörigheter),
    /// `intrusion` (messages in the stream that Styrkedja did not write).
    Register {
        register: String,
    },
    /// What serves Agenda 2030's goal `goal` (1–17): every goal and
    /// indicator tagged with it or one of its targets, with outcomes.
    Agenda2030 {
        goal: u8,
    },
    /// Every value recorded for one indicator of a goal, in recording
    /// order, page by page (a plan or goal answer carries only the latest
    /// [`styr_projections::OUTCOMES_KEPT`]).
    Outcomes {
        goal: String,
        indicator: String,
    },
    /// Every status reported for an uppdrag, in the order of the dates they
    /// speak of, page by page (a plan or register answer carries only the
    /// latest [`styr_projections::OUTCOMES_KEPT`]).
    Statuses {
        uppdrag: String,
    },
    /// The kommun's health, for probes: stream reachable, quorum, this
    /// node's projection lag (before this query catches it up), the last
    /// signed checkpoint's age.
    Health {},
}

/// A query, live or as of a past moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    pub query: Query,
    /// What was in force on this date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<NaiveDate>,
    /// What the system said at this moment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<DateTime<Utc>>,
    /// Read-your-writes: answer only once the projection has applied this sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_sequence: Option<u64>,
    /// For a list (`history`, `outcomes`, `statuses`, `register`): the page
    /// after this cursor, a previous answer's `next`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// For a list: at most this many items (default 200, at most 2000;
    /// fewer when that many would not fit in one reply, and `next` leads
    /// on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// Items in one page of a list when the request names no `limit` (the
/// figure is also written in [`QueryRequest::limit`]'s doc, which the
/// schema carries).
pub const DEFAULT_LIMIT: usize = 200;
/// The most items a page of a list holds (likewise).
pub const MAX_LIMIT: usize = 2000;

/// The read model a query asked for.
#[derive(Debug, Clone)]
pub enum QueryResult {
    Plan(styr_projections::PlanAnswer),
    Chain(styr_projections::ChainPath),
    Gaps(Vec<styr_projections::Gap>),
    History(Vec<HistoryEntry>),
    Outcomes(Vec<OutcomeDoc>),
    Statuses(Vec<StatusEntry>),
    Register(RegisterDocs),
    Health(Box<crate::health::KommunHealth>),
    Agenda2030(Box<styr_projections::Agenda2030View>),
}

/// A register's documents, typed by register.
#[derive(Debug, Clone)]
pub enum RegisterDocs {
    Access(Vec<AccessDoc>),
    Intrusion(Vec<styr_projections::IntrusionDoc>),
    Uppdrag(Vec<UppdragDoc>),
    Deviation(Vec<DeviationDoc>),
    Report(Vec<ReportDoc>),
    Ic(Vec<ControlPlanDoc>),
    Finding(Vec<FindingDoc>),
    Review(Vec<ReviewDoc>),
    Goal(Vec<GoalDoc>),
    Body(Vec<BodyDoc>),
    Unit(Vec<UnitDoc>),
    Plan(Vec<PlanDoc>),
    Investment(Vec<InvestmentDoc>),
    Process(Vec<styr_projections::ProcessView>),
    Balanskrav(Vec<styr_projections::BalanskravObligation>),
}

/// Declares [`QueryReply`]: one variant per read model, tagged by `query`.
macro_rules! query_reply {
    ($($(#[$doc:meta])* $variant:ident $tag:literal $ty:ty;)*) => {
        /// A query's answer: the same document over NATS and from
        /// `styr … --json`. `query` says which read model `result` holds
        /// (`plan`, `chain`, `gaps`, `history`, or `register:<register>`),
        /// so the schema has one unambiguous alternative per answer.
        #[derive(Debug, Clone, Serialize, JsonSchema)]
        #[serde(tag = "query")]
        pub enum QueryReply {
            $(
                $(#[$doc])*
                #[serde(rename = $tag)]
                $variant {
                    kommun: String,
                    /// The kommun's last stream sequence when answered (for
                    /// an export file: its last event).
                    sequence: u64,
                    result: $ty,
                    /// For a list: the cursor of the next page (pass it as
                    /// `after`); absent on the last page.
                    #[serde(default, skip_serializing_if = "Option::is_none")]
                    next: Option<String>,
                },
            )*
        }

        impl QueryReply {
            /// Where the next page of this answer's list begins.
            pub fn with_next(mut self, cursor: Option<String>) -> Self {
                match &mut self {
                    $(QueryReply::$variant { next, .. } => *next = cursor,)*
                }
                self
            }
        }
    };
}

query_reply! {
    Plan "plan" styr_projections::PlanAnswer;
    Chain "chain" styr_projections::ChainPath;
    Gaps "gaps" Vec<styr_projections::Gap>;
    History "history" Vec<HistoryEntry>;
    Outcomes "outcomes" Vec<OutcomeDoc>;
    Statuses "statuses" Vec<StatusEntry>;
    Health "health" Box<crate::health::KommunHealth>;
    Access "register:access" Vec<AccessDoc>;
    Intrusion "register:intrusion" Vec<styr_projections::IntrusionDoc>;
    Uppdrag "register:uppdrag" Vec<UppdragDoc>;
    Deviation "register:deviation" Vec<DeviationDoc>;
    Report "register:report" Vec<ReportDoc>;
    Ic "register:ic" Vec<ControlPlanDoc>;
    Finding "register:finding" Vec<FindingDoc>;
    Review "register:review" Vec<ReviewDoc>;
    Goal "register:goal" Vec<GoalDoc>;
    Body "register:body" Vec<BodyDoc>;
    Unit "register:unit" Vec<UnitDoc>;
    PlanRegister "register:plan" Vec<PlanDoc>;
    Investment "register:investment" Vec<InvestmentDoc>;
    ProcessRegister "register:process" Vec<styr_projections::ProcessView>;
    BalanskravRegister "register:balanskrav" Vec<styr_projections::BalanskravObligation>;
    Agenda2030 "agenda2030" Box<styr_projections::Agenda2030View>;
}

impl QueryReply {
    pub fn new(kommun: String, sequence: u64, result: QueryResult) -> Self {
        use RegisterDocs as R;
        match result {
            QueryResult::Plan(result) => QueryReply::Plan {
                kommun,
                sequence,
                result,
                next: None,
            },
            QueryResult::Chain(result) => QueryReply::Chain {
                kommun,
                sequence,
                result,
                next: None,
            },
            QueryResult::Gaps(result) => QueryReply::Gaps {
                kommun,
                sequence,
                result,
                next: None,
            },
            QueryResult::History(result) => QueryReply::History {
                kommun,
                sequence,
                result,
                next: None,
            },
            QueryResult::Outcomes(result) => QueryReply::Outcomes {
                kommun,
                sequence,
                result,
                next: None,
            },
            QueryResult::Statuses(result) => QueryReply::Statuses {
                kommun,
                sequence,
                result,
                next: None,
            },
            QueryResult::Health(result) => QueryReply::Health {
                kommun,
                sequence,
                result,
                next: None,
            },
            QueryResult::Register(docs) => match docs {
                R::Access(result) => QueryReply::Access {
                    kommun,
                    sequence,
                    result,
                    next: None,
                },
                R::Intrusion(result) => QueryReply::Intrusion {
                    kommun,
                    sequence,
                    result,
                    next: None,
                },
                R::Uppdrag(result) => QueryReply::Uppdrag {
                    kommun,
                    sequence,
                    result,
                    next: None,
                },
                R::Deviation(result) => QueryReply::Deviation {
                    kommun,
                    sequence,
                    result,
                    next: None,
                },
                R::Report(result) => QueryReply::Report {
                    kommun,
                    sequence,
                    result,
                    next: None,
                },
                R::Ic(result) => QueryReply::Ic {
                    kommun,
                    sequence,
                    result,
                    next: None,
                },
                R::Finding(result) => QueryReply::Finding {
                    kommun,
                    sequence,
                    result,
                    next: None,
                },
                R::Review(result) => QueryReply::Review {
                    kommun,
                    sequence,
                    result,
                    next: None,
                },
                R::Goal(result) => QueryReply::Goal {
                    kommun,
                    sequence,
                    result,
                    next: None,
                },
                R::Body(result) => QueryReply::Body {
                    kommun,
                    sequence,
                    result,
                    next: None,
                },
                R::Unit(result) => QueryReply::Unit {
                    kommun,
                    sequence,
                    result,
                    next: None,
                },
                R::Plan(result) => QueryReply::PlanRegister {
                    kommun,
                    sequence,
                    result,
                    next: None,
                },
                R::Investment(result) => QueryReply::Investment {
                    kommun,
                    sequence,
                    result,
                    next: None,
                },
                R::Process(result) => QueryReply::ProcessRegister {
                    kommun,
                    sequence,
                    result,
                    next: None,
                },
                R::Balanskrav(result) => QueryReply::BalanskravRegister {
                    kommun,
                    sequence,
                    result,
                    next: None,
                },
            },
            QueryResult::Agenda2030(result) => QueryReply::Agenda2030 {
                kommun,
                sequence,
                result,
                next: None,
            },
        }
    }
}

impl RegisterDocs {
    /// Every document of a register, goals with every value and uppdrag
    /// with every status (what `styr register --json` prints).
    pub fn load(
        kv: &(impl KvRead + ?Sized),
        kommun: &KommunId,
        register: Register,
    ) -> Result<Self, styr_projections::ProjectionError> {
        let every = styr_projections::Outcomes::Every;
        Ok(Self::page(kv, kommun, register, None, usize::MAX, every)?.0)
    }

    /// One page of a register's documents, and where the next begins.
    /// Goals (also a process's) carry `items` of their values, uppdrag of
    /// their statuses: an answer over the network asks for the latest.
    pub fn page(
        kv: &(impl KvRead + ?Sized),
        kommun: &KommunId,
        register: Register,
        after: Option<&str>,
        limit: usize,
        items: styr_projections::Outcomes,
    ) -> Result<(Self, Option<String>), styr_projections::ProjectionError> {
        use styr_projections::{docs_page as d, page_in_memory as mem, Page};
        let kind = register.kind();
        fn split<T>(
            p: Page<T>,
            f: impl FnOnce(Vec<T>) -> RegisterDocs,
        ) -> (RegisterDocs, Option<String>) {
            (f(p.items), p.next)
        }
        Ok(match register {
            Register::Access => split(d(kv, kommun, kind, after, limit)?, RegisterDocs::Access),
            Register::Intrusion => {
                split(d(kv, kommun, kind, after, limit)?, RegisterDocs::Intrusion)
            }
            Register::Uppdrag => split(
                mem(
                    styr_projections::uppdrag_with(kv, kommun, items)?,
                    |u| u.id.clone(),
                    after,
                    limit,
                ),
                RegisterDocs::Uppdrag,
            ),
            Register::Deviation => {
                split(d(kv, kommun, kind, after, limit)?, RegisterDocs::Deviation)
            }
            Register::Report => split(d(kv, kommun, kind, after, limit)?, RegisterDocs::Report),
            Register::InternalControl => {
                split(d(kv, kommun, kind, after, limit)?, RegisterDocs::Ic)
            }
            Register::Finding => split(d(kv, kommun, kind, after, limit)?, RegisterDocs::Finding),
            Register::Review => split(d(kv, kommun, kind, after, limit)?, RegisterDocs::Review),
            Register::Goal => split(
                mem(
                    styr_projections::goals_with(kv, kommun, items)?,
                    |g| g.id.clone(),
                    after,
                    limit,
                ),
                RegisterDocs::Goal,
            ),
            Register::Body => split(d(kv, kommun, kind, after, limit)?, RegisterDocs::Body),
            Register::Unit => split(d(kv, kommun, kind, after, limit)?, RegisterDocs::Unit),
            Register::Plan => split(d(kv, kommun, kind, after, limit)?, RegisterDocs::Plan),
            Register::Investment => {
                split(d(kv, kommun, kind, after, limit)?, RegisterDocs::Investment)
            }
            Register::Process => split(
                mem(
                    styr_projections::processes_with(kv, kommun, items)?,
                    |p| p.process.id.clone(),
                    after,
                    limit,
                ),
                RegisterDocs::Process,
            ),
            Register::Balanskrav => split(
                mem(
                    styr_projections::balanskrav_obligations(kv, kommun)?,
                    |o| format!("{:06}", o.year),
                    after,
                    limit,
                ),
                RegisterDocs::Balanskrav,
            ),
        })
    }
}

/// One line of `styr history --json` / `styr follow --json`: a recorded
/// event with its stream sequence, or a message Styrkedja did not write.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum HistoryLine {
    Event {
        sequence: u64,
        /// The envelope exactly as stored, byte for byte (so its hash can
        /// be recomputed from this line).
        #[schemars(with = "styr_store::Envelope")]
        envelope: Box<serde_json::value::RawValue>,
    },
    Foreign {
        foreign: ForeignLine,
    },
}

/// Intrång: a message in the stream that Styrkedja did not write.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ForeignLine {
    pub sequence: u64,
    pub reason: String,
    pub hash: String,
}

/// An error reply: `{"error": {code, kind, message}}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ErrorReply {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// An HTTP-like status: 400 bad request, 401 no identity, 403 not
    /// allowed, 404 unknown, 409 not yet or kept conflicting (`contended`),
    /// 413 too large, 500 a fault of ours or a damaged history, 503
    /// unavailable (NATS), 504 the outcome could not be told
    /// (`outcome_unknown`: look the idempotency key up before resending),
    /// 507 no space.
    pub code: usize,
    /// A stable word for programs, e.g. `invalid_query`, `unknown_kommun`.
    pub kind: String,
    /// What went wrong, for people.
    pub message: String,
}

struct ApiError {
    code: usize,
    kind: &'static str,
    message: String,
}

impl ApiError {
    /// The reply to a failure of the service or the store, each kind with
    /// its own code: a conflict that kept recurring is not "unavailable",
    /// and an outcome that could not be told is neither.
    fn from_service(e: &crate::ServiceError) -> Self {
        use crate::ServiceError as E;
        use styr_store::StoreError as S;
        let (code, kind) = match e {
            // The group's shared cause decides; the message says both.
            E::Failed(cause) => {
                return ApiError {
                    message: e.to_string(),
                    ..Self::from_service(cause)
                }
            }
            E::Contended { .. } => (409, "contended"),
            E::Internal(_) => (500, "internal"),
            E::Unreadable { .. } | E::Store(S::Corrupt { .. }) => (500, "corrupt_history"),
            E::Store(S::InvalidKommun { .. } | S::InvalidField { .. }) => {
                (400, "invalid_submission")
            }
            E::Store(S::TooLarge { .. }) => (413, "too_large"),
            E::Store(S::NotEmpty { .. }) => (409, "not_empty"),
            E::Store(S::Key { .. }) => (500, "signing_key"),
            E::Store(S::Unresolved { .. }) | E::WriterLost => (504, "outcome_unknown"),
            E::Store(S::Connect { .. } | S::Nats { .. }) => (503, "unavailable"),
        };
        ApiError {
            code,
            kind,
            message: e.to_string(),
        }
    }

    /// A reply that could not be written as JSON (a fault of ours).
    fn unwritable(e: &dyn std::fmt::Display) -> Self {
        ApiError {
            code: 500,
            kind: "internal",
            message: format!("svaret gick inte att skriva som JSON: {e}"),
        }
    }
}

/// The register a query names, by its API name.
fn named(register: &str) -> Result<Register, ApiError> {
    Register::from_name(register).ok_or_else(|| {
        let known: Vec<&str> = Register::ALL.iter().map(|r| r.name()).collect();
        bad(
            "invalid_query",
            format!("registret {register:?} finns inte; ett av {known:?}"),
        )
    })
}

/// An answer about something the kommun does not have.
fn not_found(message: String) -> ApiError {
    ApiError {
        code: 404,
        kind: "not_found",
        message,
    }
}

fn bad(kind: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        code: 400,
        kind,
        message: message.into(),
    }
}

/// The service state shared by every request.
pub struct Api {
    pub kommuner: Arc<Kommuner>,
    pub projector: Arc<Projector>,
    pub health: Arc<Health>,
}

/// What the process running the service knows about its server.
#[derive(Debug, Default)]
pub struct Health {
    /// The server could not write to disk (full): submissions are answered
    /// `507 no_space` at once, until the server is back.
    storage_failed: std::sync::atomic::AtomicBool,
}

impl Health {
    pub fn set_storage_failed(&self, failed: bool) {
        self.storage_failed
            .store(failed, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn storage_failed(&self) -> bool {
        self.storage_failed
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Api {
    fn kommun(subject: &str) -> Result<KommunId, ApiError> {
        let token = subject.split('.').nth(2).unwrap_or_default();
        KommunId::new(token).map_err(|e| bad("invalid_kommun", e.to_string()))
    }

    fn body(payload: &[u8]) -> Result<&[u8], ApiError> {
        if payload.len() > MAX_REQUEST {
            return Err(ApiError {
                code: 413,
                kind: "too_large",
                message: format!("förfrågan är {} byte; högst {MAX_REQUEST}", payload.len()),
            });
        }
        Ok(payload)
    }

    /// A submission as it arrived: the caller is named by exactly one
    /// `Nats-Request-Info`, as the server writes it; a request that still
    /// carries a second (a client's own, on a server too old to strip it)
    /// names nobody.
    async fn submit_message(&self, m: &async_nats::Message) -> Result<Value, ApiError> {
        let infos: Vec<String> = m
            .headers
            .as_ref()
            .map(|h| {
                h.get_all(styr_access::REQUEST_INFO_HEADER)
                    .map(|v| v.to_string())
                    .collect()
            })
            .unwrap_or_default();
        let info = match infos.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        };
        self.submit(&m.subject, info, &m.payload).await
    }

    #[tracing::instrument(skip(self, payload, request_info))]
    async fn submit(
        &self,
        subject: &str,
        request_info: Option<&str>,
        payload: &[u8],
    ) -> Result<Value, ApiError> {
        if self.health.storage_failed() {
            return Err(ApiError {
                code: 507,
                kind: "no_space",
                message: "servern har slut på diskutrymme: inget registrerades; försök igen när utrymme frigjorts".into(),
            });
        }
        // Who is asking comes from the server, never from the request body.
        let identity = styr_access::caller(request_info).map_err(|message| ApiError {
            code: 401,
            kind: "unauthenticated",
            message,
        })?;
        let kommun = Self::kommun(subject)?;
        let de = &mut serde_json::Deserializer::from_slice(Self::body(payload)?);
        let submission: Submission = serde_path_to_error::deserialize(de).map_err(|e| {
            bad(
                "invalid_submission",
                match e.path().to_string().as_str() {
                    "." => crate::wording::serde_message(&e.inner().to_string()),
                    path => format!(
                        "fältet {path}: {}",
                        crate::wording::serde_message(&e.inner().to_string())
                    ),
                },
            )
        })?;
        let outcome = self
            .kommuner
            .submit_remote(&kommun, &identity, submission)
            .await
            .map_err(|e| ApiError::from_service(&e))?;
        let reply = match outcome {
            Outcome::Recorded(c) => SubmitReply::Recorded {
                first_sequence: c.first_sequence,
                last_sequence: c.last_sequence,
                event_ids: c.event_ids,
            },
            Outcome::Duplicate(c) => SubmitReply::Duplicate {
                first_sequence: c.first_sequence,
                last_sequence: c.last_sequence,
                event_ids: c.event_ids,
            },
            Outcome::Rejected(r) => SubmitReply::Rejected {
                rule: r.rule,
                field: r.field,
                message: r.message,
            },
        };
        serde_json::to_value(reply).map_err(|e| ApiError::unwritable(&e))
    }

    /// A probe's question, answered from what the stream and the projection
    /// say now: nothing is read or caught up first, so an unreachable stream
    /// or a lagging projection is the answer, not an error or a wait.
    async fn health(&self, kommun: &KommunId) -> Result<Value, ApiError> {
        let health =
            crate::health::kommun_health(self.kommuner.store(), Some(&self.projector), kommun)
                .await
                .map_err(unavailable)?;
        let reply = QueryReply::new(
            kommun.to_string(),
            health.last_sequence,
            QueryResult::Health(Box::new(health)),
        );
        serde_json::to_value(reply).map_err(|e| ApiError::unwritable(&e))
    }

    #[tracing::instrument(skip(self, payload))]
    /// Answers a query with the reply's JSON (written once: a kept plan is
    /// copied into it as it is), at most `max_reply` bytes: a page of a
    /// list that would be longer is answered shorter (its `next` leads on),
    /// anything else that would be is an error reply saying where the
    /// parts are.
    async fn query(
        &self,
        subject: &str,
        payload: &[u8],
        max_reply: usize,
    ) -> Result<String, ApiError> {
        let kommun = Self::kommun(subject)?;
        let request: QueryRequest = serde_json::from_slice(Self::body(payload)?).map_err(|e| {
            bad(
                "invalid_query",
                crate::wording::serde_message(&e.to_string()),
            )
        })?;
        let limit = page_limit(request.limit)?;
        let store = self.kommuner.store();
        if matches!(request.query, Query::Health {}) {
            return self.health(&kommun).await.map(|v| v.to_string());
        }
        let last = store.last_sequence(&kommun).await.map_err(unavailable)?;
        if last == 0 {
            return Err(ApiError {
                code: 404,
                kind: "unknown_kommun",
                message: format!("kommunen {kommun} har ingen historik"),
            });
        }
        let at = match (request.as_of, request.recorded_at) {
            (Some(d), _) => Some(AsOf::InForce(d)),
            (None, Some(t)) => Some(AsOf::Recorded(t)),
            _ => None,
        };
        let past;
        let _reading;
        let kv: &dyn KvRead = match at {
            Some(at) => {
                // Caught up first: the past is read from the projection's
                // versions, with only what it has not reached folded on top.
                // A projection that cannot catch up (halted on a history
                // that is not its own) leaves the question to the fold of
                // the stream, as before there were versions.
                past = match self.projector.catch_up_to(store, &kommun, last).await {
                    Ok(_) => self.projector.as_of(store, &kommun, at).await,
                    Err(e) => {
                        tracing::warn!(error = %e, kommun = %kommun, "the projection did not catch up; folding the history for an as-of question");
                        styr_projections::as_of(store, &kommun, at)
                            .await
                            .map(styr_projections::Past::Folded)
                    }
                }
                .map_err(unavailable)?;
                &past
            }
            None => {
                let reached = self
                    .projector
                    .catch_up_to(store, &kommun, last)
                    .await
                    .map_err(unavailable)?;
                if let Some(min) = request.min_sequence {
                    if reached < min {
                        return Err(ApiError {
                            code: 409,
                            kind: "not_yet",
                            message: format!(
                                "projektionen är vid sekvens {reached}, ännu inte vid {min}"
                            ),
                        });
                    }
                }
                // Read under the view's lock: a catch-up that clears it for
                // a rättelse is never seen half done.
                _reading = self.projector.reading(&kommun).await;
                self.projector.view()
            }
        };
        let mut limit = limit;
        loop {
            let view = View {
                kv,
                kommun: &kommun,
                live: at.is_none(),
                as_of: request.as_of,
                after: request.after.as_deref(),
                limit,
            };
            let (result, next) = self.read(&view, request.query.clone())?;
            // A kept plan knows about how long its JSON is: written into room
            // enough, a megabyte is not copied at every doubling of a buffer.
            let room = match &result {
                QueryResult::Plan(plan) => plan.json_len_hint(),
                _ => 0,
            };
            let mut out = Vec::with_capacity(room + 512);
            serde_json::to_writer(
                &mut out,
                &QueryReply::new(kommun.to_string(), last, result).with_next(next),
            )
            .map_err(|e| ApiError::unwritable(&e))?;
            let size = out.len();
            if size <= max_reply {
                return String::from_utf8(out).map_err(|e| ApiError::unwritable(&e));
            }
            if !is_list(&request.query) || limit == 1 {
                return Err(too_large(&request.query, size, max_reply));
            }
            // A shorter page, sized from this one's bytes per item with a
            // tenth to spare (items differ in length); `next` leads on.
            let fits = (limit as u128 * max_reply as u128 * 9 / 10 / size as u128) as usize;
            limit = fits.clamp(1, limit - 1);
        }
    }

    /// Answers `query` from `view`: the read model and, for a list, where
    /// its next page begins.
    fn read(
        &self,
        view: &View<'_>,
        query: Query,
    ) -> Result<(QueryResult, Option<String>), ApiError> {
        let View {
            kv,
            kommun,
            live,
            after,
            limit,
            ..
        } = *view;
        let r = unavailable;
        let latest = styr_projections::Outcomes::Latest(styr_projections::OUTCOMES_KEPT);
        let whole = |result| Ok((result, None));
        match query {
            Query::Plan { year } => whole(QueryResult::Plan(if live {
                // Kept between writes; after one, built from the parts
                // the write left as they were and those it touched.
                styr_projections::PlanAnswer::Kept(self.projector.plan(kommun, year).map_err(r)?)
            } else {
                styr_projections::PlanAnswer::Answered(Box::new(
                    styr_projections::plan_answer(kv, kommun, year).map_err(r)?,
                ))
            })),
            Query::Chain { node } => {
                let path = if live {
                    self.projector.chain(kommun, &node)
                } else {
                    styr_projections::chain(kv, kommun, &node)
                };
                match path.map_err(r)? {
                    Some(c) => whole(QueryResult::Chain(c)),
                    None => Err(ApiError {
                        code: 404,
                        kind: "unknown_node",
                        message: format!("noden {node:?} finns inte"),
                    }),
                }
            }
            Query::Gaps { year, today } => {
                let today = today
                    .or(view.as_of)
                    .unwrap_or_else(|| Utc::now().date_naive());
                whole(QueryResult::Gaps(
                    styr_projections::gaps(kv, kommun, year, today).map_err(r)?,
                ))
            }
            Query::History { entity } => {
                let page =
                    styr_projections::history_page(kv, kommun, &entity, after, limit).map_err(r)?;
                Ok((QueryResult::History(page.items), page.next))
            }
            Query::Outcomes { goal, indicator } => {
                let known =
                    styr_projections::doc::<GoalDoc>(kv, kommun, &DocKind::Goal.path(&goal))
                        .map_err(r)?
                        .is_some_and(|g| g.indicators.iter().any(|i| i.id == indicator));
                if !known {
                    return Err(not_found(format!(
                        "målet {goal:?} har ingen indikator {indicator:?}"
                    )));
                }
                let page =
                    styr_projections::outcomes_page(kv, kommun, &goal, &indicator, after, limit)
                        .map_err(r)?;
                Ok((QueryResult::Outcomes(page.items), page.next))
            }
            Query::Statuses { uppdrag } => {
                let path = DocKind::Uppdrag.path(&uppdrag);
                if styr_projections::doc::<UppdragDoc>(kv, kommun, &path)
                    .map_err(r)?
                    .is_none()
                {
                    return Err(not_found(format!("uppdraget {uppdrag:?} finns inte")));
                }
                let page = styr_projections::statuses_page(kv, kommun, &uppdrag, after, limit)
                    .map_err(r)?;
                Ok((QueryResult::Statuses(page.items), page.next))
            }
            // Answered before anything reads the stream.
            Query::Health {} => Err(bad("invalid_query", "hälsan besvaras för sig")),
            Query::Register { register } => {
                let (docs, next) =
                    RegisterDocs::page(kv, kommun, named(&register)?, after, limit, latest)
                        .map_err(r)?;
                Ok((QueryResult::Register(docs), next))
            }
            Query::Agenda2030 { goal } => {
                match styr_projections::agenda2030_with(kv, kommun, goal, latest).map_err(r)? {
                    Some(v) => whole(QueryResult::Agenda2030(Box::new(v))),
                    None => Err(bad(
                        "invalid_query",
                        format!("Agenda 2030 har mål 1–17, inte {goal}"),
                    )),
                }
            }
        }
    }
}

/// What a query is answered from: the live view or a past one, and the
/// page a list answer is cut to.
struct View<'a> {
    kv: &'a dyn KvRead,
    kommun: &'a KommunId,
    /// The live view (then the kept plan and graph serve), not an as-of fold.
    live: bool,
    /// The date an as-of question names (the default `today` of gaps).
    as_of: Option<NaiveDate>,
    after: Option<&'a str>,
    limit: usize,
}

/// The page size a request asks for: [`DEFAULT_LIMIT`] when it names none,
/// refused outside 1–[`MAX_LIMIT`].
fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n @ 1..=MAX_LIMIT) => Ok(n),
        Some(n) => Err(bad(
            "invalid_query",
            format!("limit är {n}; en sida rymmer 1–{MAX_LIMIT}"),
        )),
    }
}

/// Whether `query` asks for a list, answered a page at a time.
fn is_list(query: &Query) -> bool {
    matches!(
        query,
        Query::History { .. }
            | Query::Register { .. }
            | Query::Outcomes { .. }
            | Query::Statuses { .. }
    )
}

/// An answer longer than the server carries, with where its parts are.
fn too_large(query: &Query, size: usize, max_reply: usize) -> ApiError {
    let parts = match query {
        Query::Plan { .. } => {
            "läs planens delar sida för sida: register goal, register uppdrag, outcomes och statuses"
        }
        Query::Agenda2030 { .. } => "läs målen sida för sida med register goal",
        Query::Chain { .. } => "fråga om en nod längre ned i kedjan",
        Query::Gaps { .. } => "luckorna delas inte i sidor",
        // A list's single item: there is nothing smaller to ask for.
        _ => "ett enda objekt i listan är större än gränsen",
    };
    ApiError {
        code: 413,
        kind: "reply_too_large",
        message: format!(
            "svaret är {size} byte, mer än serverns gräns på {max_reply}: {parts}; eller höj serverns max_payload"
        ),
    }
}

/// The stream or the projection could not answer now.
fn unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError {
        code: 503,
        kind: "unavailable",
        message: e.to_string(),
    }
}

/// Replies to `request` and counts the answer on its endpoint. An answer
/// larger than the server carries (`max_payload`) becomes an error reply
/// that says so, never silence (a query bounds its own reply first and
/// says where its parts are, `Api::query`; this catches the rest).
async fn answer(
    client: &async_nats::Client,
    endpoint: &micro::Endpoint,
    request: async_nats::Message,
    started: std::time::Instant,
    result: Result<String, ApiError>,
    max_payload: usize,
) {
    let result = result.and_then(|v| {
        let size = v.len();
        if size > max_payload {
            Err(ApiError {
                code: 413,
                kind: "reply_too_large",
                message: format!(
                    "svaret är {size} byte, mer än serverns gräns på {max_payload}; höj serverns max_payload"
                ),
            })
        } else {
            Ok(v)
        }
    });
    // The reply's body moves into the message (a kept plan is a
    // megabyte: not copied again).
    let (body, failure) = match result {
        Ok(v) => (v, None),
        // Built as a JSON value directly: an error reply cannot fail to be
        // written (its shape is ErrorReply's, which the schema test holds).
        Err(e) => (
            serde_json::json!({
                "error": {"code": e.code, "kind": e.kind, "message": e.message}
            })
            .to_string(),
            Some(e),
        ),
    };
    let error = failure.as_ref().map(|e| (e.code, e.message.as_str()));
    // Counted before the reply leaves: whoever has the answer sees it in
    // the stats.
    endpoint.record(started.elapsed(), error);
    metrics::histogram!("styr_request_seconds", "endpoint" => endpoint.name)
        .record(started.elapsed().as_secs_f64());
    if let Some((code, _)) = error {
        metrics::counter!("styr_request_errors_total", "endpoint" => endpoint.name, "code" => code.to_string())
            .increment(1);
    }
    if let Err(e) = micro::reply(client, &request, body.into_bytes(), error).await {
        tracing::warn!(error = %e, "could not reply");
    }
}

/// Starts the service on `client` — a connection in the service's request
/// account (user `styr-api`), so that every request arrives through the
/// import that stamps the caller's identity on it. Runs until the client
/// closes.
pub async fn serve(client: async_nats::Client, api: Arc<Api>) -> Result<(), async_nats::Error> {
    serve_until(client, api, std::future::pending()).await
}

/// How long a shutdown waits for requests already taken to be answered.
pub const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long the connection must stay down, while stopping, before the
/// server counts as gone.
pub const SERVER_GONE: std::time::Duration = std::time::Duration::from_secs(5);

/// Like [`serve`], until `shutdown` completes: then it unsubscribes, takes
/// the requests the server had already delivered, answers every request
/// taken (waiting at most [`DRAIN_TIMEOUT`]), waits until the server has
/// read the replies ([`micro::server_has_read`]) and returns.
pub async fn serve_until(
    client: async_nats::Client,
    api: Arc<Api>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), async_nats::Error> {
    start(client, api).await?.serve_until(shutdown).await
}

/// The service subscribed and known to its server, not yet taking requests
/// (they wait in the subscriptions): what [`start`] returns.
pub struct Started {
    client: async_nats::Client,
    api: Arc<Api>,
    service: micro::Service,
    endpoints: Vec<(Arc<micro::Endpoint>, async_nats::Subscriber)>,
}

/// Subscribes the service's endpoints and waits until its server has
/// them ([`micro::server_has_read`]; an error after [`DRAIN_TIMEOUT`]): from then on a request finds a responder, so a caller
/// may say that the service answers.
pub async fn start(
    client: async_nats::Client,
    api: Arc<Api>,
) -> Result<Started, async_nats::Error> {
    let (service, endpoints) = micro::Service::start(
        &client,
        "styrkedja",
        env!("CARGO_PKG_VERSION"),
        "Styrkedja: en kommuns beslut, registrerade och sökbara",
        &[
            ("submit", format!("{API_PREFIX}.*.submit")),
            ("query", format!("{API_PREFIX}.*.query")),
        ],
    )
    .await?;
    tokio::time::timeout(DRAIN_TIMEOUT, micro::server_has_read(&client))
        .await
        .map_err(|_| {
            format!(
                "NATS-servern bekräftade inte tjänstens prenumerationer inom {} s",
                DRAIN_TIMEOUT.as_secs()
            )
        })??;
    Ok(Started {
        client,
        api,
        service,
        endpoints,
    })
}

impl Started {
    /// Answers requests until `shutdown` completes; then as [`serve_until`].
    pub async fn serve_until(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), async_nats::Error> {
        let Started {
            client,
            api,
            service,
            endpoints,
        } = self;
        let max_payload = client.server_info().max_payload;
        let (stop, stopping) = tokio::sync::watch::channel(false);
        // Every request task holds a sender; when the last is dropped, every
        // request taken has been answered.
        let (in_flight, mut drained) = tokio::sync::mpsc::channel::<()>(1);
        let mut loops = tokio::task::JoinSet::new();
        for (endpoint, sub) in endpoints {
            let (api, client, busy) = (api.clone(), client.clone(), in_flight.clone());
            loops.spawn(micro::take(sub, stopping.clone(), move |m| {
                let (api, client, busy, endpoint) =
                    (api.clone(), client.clone(), busy.clone(), endpoint.clone());
                let started = std::time::Instant::now();
                tokio::spawn(async move {
                    let _busy = busy;
                    let result = match endpoint.name {
                        "submit" => api.submit_message(&m).await.map(|v| v.to_string()),
                        _ => api.query(&m.subject, &m.payload, max_payload).await,
                    };
                    answer(&client, &endpoint, m, started, result, max_payload).await;
                });
            }));
        }
        drop(in_flight);
        let ended = async { while loops.join_next().await.is_some() {} };
        tokio::select! {
            () = ended => {}
            () = shutdown => tracing::info!("shutting down: answering the requests already taken"),
        }
        // Unsubscribe and take what the client had already received; all of it
        // within the drain time (a connection that is reconnecting never ends
        // its subscriptions by itself).
        let _ = stop.send(true);
        // A server that is gone takes no more replies and ends no subscription:
        // then there is nothing left to wait for. Gone means disconnected for
        // all of SERVER_GONE: a reconnect blip during the drain is waited out.
        let connected = || client.connection_state() == async_nats::connection::State::Connected;
        let server_lost = async {
            let mut since: Option<std::time::Instant> = None;
            loop {
                match (connected(), since) {
                    (true, _) => since = None,
                    (false, None) => since = Some(std::time::Instant::now()),
                    (false, Some(t)) if t.elapsed() >= SERVER_GONE => break,
                    (false, Some(_)) => {}
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        };
        let drained_in_time = tokio::time::timeout(DRAIN_TIMEOUT, async {
            tokio::select! {
                () = async {
                    while loops.join_next().await.is_some() {}
                    let _ = drained.recv().await;
                } => true,
                () = server_lost => false,
            }
        })
        .await;
        drop(service);
        match drained_in_time {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("the NATS server is gone; stopping without answering the rest")
            }
            Err(_) => {
                tracing::warn!("requests still unanswered after {DRAIN_TIMEOUT:?}; stopping anyway")
            }
        }
        // The replies written reach the server, and it has routed them to
        // their callers, before returning: whoever stops the server next
        // (serve stops its embedded one) loses none of them. A client
        // reconnecting never gets there, so it is given SERVER_GONE when the
        // server was lost, and the drain time otherwise.
        let flush_within = match drained_in_time {
            Ok(false) => SERVER_GONE,
            _ => DRAIN_TIMEOUT,
        };
        match tokio::time::timeout(flush_within, micro::server_has_read(&client)).await {
            Ok(read) => read?,
            Err(_) => tracing::warn!("replies not read by the server within {flush_within:?}"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::ApiError;
    use crate::ServiceError;
    use styr_store::StoreError;

    fn code(e: ServiceError) -> (usize, &'static str) {
        let reply = ApiError::from_service(&e);
        (reply.code, reply.kind)
    }

    #[test]
    fn each_failure_has_its_own_code() {
        let contended = ServiceError::Contended {
            kommun: "vimmerby".into(),
            attempts: 8,
        };
        assert_eq!(code(contended), (409, "contended"));
        let unresolved = StoreError::Unresolved {
            attempts: 3,
            detail: "no acknowledgement in time".into(),
        };
        assert_eq!(code(unresolved.into()), (504, "outcome_unknown"));
        let corrupt = StoreError::Corrupt {
            sequence: 7,
            reason: "a hash does not match".into(),
        };
        assert_eq!(code(corrupt.into()), (500, "corrupt_history"));
        assert_eq!(code(ServiceError::Internal("test")), (500, "internal"));
    }

    #[test]
    fn a_failed_group_answers_with_its_cause_and_keeps_it_as_source() {
        let cause = ServiceError::Contended {
            kommun: "vimmerby".into(),
            attempts: 8,
        };
        let failed = ServiceError::Failed(Arc::new(cause));
        let reply = ApiError::from_service(&failed);
        assert_eq!((reply.code, reply.kind), (409, "contended"));
        assert!(reply.message.contains("registreringen misslyckades"));
        let source = std::error::Error::source(&failed).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("kommunen vimmerby fortsatte att ändras: gav upp efter 8 krockande försök")
        );
    }
}
