//! Reviews: the revisorer's granskningar and the boards' yttranden.

use crate::state::*;
use crate::*;
use std::collections::BTreeSet;

use chrono::Datelike;

use crate::decide::*;

impl KommunState {
    /// `record_review`: see [`Command::RecordReview`].
    pub(crate) fn decide_record_review(&self, p: &Provenance, c: &RecordReview) -> Decided {
        let RecordReview {
            review,
            title,
            year,
            bodies,
            observations,
            recommendations,
            reply_due,
        } = c;
        let today = Self::decided_on(p);
        let auditors = self
            .bodies
            .iter()
            .find(|(_, b)| b.kind == BodyKind::Auditors)
            .map(|(id, _)| id.as_str());
        let Some(auditors) = auditors else {
            return reject(
                Rule::Reference,
                "provenance.decided_by",
                "kommunen har inga revisorer",
            );
        };
        self.authorize(p, Authority::Body(auditors))?;
        check_id("review", review)?;
        check_text("title", title)?;
        if self.reviews.contains_key(review) {
            return reject(
                Rule::P6,
                "review",
                format!("granskningen {review:?} finns redan"),
            );
        }
        if bodies.is_empty() {
            return reject(
                Rule::Input,
                "bodies",
                "en granskning gäller minst en nämnd eller styrelse",
            );
        }
        for (i, b) in bodies.iter().enumerate() {
            self.operating_body(&format!("bodies[{i}]"), b)?;
        }
        if observations.iter().all(|o| o.trim().is_empty()) {
            return reject(
                Rule::Input,
                "observations",
                "en granskning anger sina iakttagelser",
            );
        }
        let mut ids = BTreeSet::new();
        for (i, r) in recommendations.iter().enumerate() {
            check_id(&format!("recommendations[{i}].id"), &r.id)?;
            check_text(&format!("recommendations[{i}].text"), &r.text)?;
            if !ids.insert(r.id.as_str()) {
                return reject(
                    Rule::Input,
                    format!("recommendations[{i}].id"),
                    "varje rekommendation en gång",
                );
            }
        }
        if *reply_due <= today {
            return reject(
                Rule::Consistency,
                "reply_due",
                "sista dag för yttrandet ligger efter granskningen",
            );
        }
        if *year > today.year() {
            return reject(
                Rule::Consistency,
                "year",
                "en granskning avser ett år som har börjat",
            );
        }
        Ok(vec![Event::ReviewRecorded(ReviewRecorded {
            review: review.clone(),
            title: title.clone(),
            year: *year,
            bodies: bodies.clone(),
            observations: observations.clone(),
            recommendations: recommendations.clone(),
            reply_due: *reply_due,
        })])
    }

    /// `reply_to_review`: see [`Command::ReplyToReview`].
    pub(crate) fn decide_reply_to_review(&self, p: &Provenance, c: &ReplyToReview) -> Decided {
        let ReplyToReview {
            review,
            body,
            reply,
            responses,
        } = c;
        let today = Self::decided_on(p);
        let Some(r) = self.reviews.get(review) else {
            return reject(
                Rule::Reference,
                "review",
                format!("ingen granskning {review:?}"),
            );
        };
        if !r.bodies.contains(body) {
            return reject(
                Rule::P1,
                "body",
                format!(
                    "granskningen {review:?} riktar sig till {:?}, inte {body:?}",
                    r.bodies
                ),
            );
        }
        self.authorize(p, Authority::Body(body))?;
        check_text("reply", reply)?;
        if r.replied.contains(body) {
            return reject(Rule::P6, "body", format!("{body:?} har redan yttrat sig"));
        }
        for (i, resp) in responses.iter().enumerate() {
            if !r.recommendations.contains(&resp.recommendation) {
                return reject(
                    Rule::Reference,
                    format!("responses[{i}].recommendation"),
                    format!("ingen rekommendation {:?}", resp.recommendation),
                );
            }
        }
        Ok(vec![Event::ReviewReplied(ReviewReplied {
            review: review.clone(),
            body: body.clone(),
            reply: reply.clone(),
            responses: responses.clone(),
            late: today > r.reply_due,
        })])
    }
}

/// Folding this area's events into the state.
impl KommunState {
    pub(crate) fn evolve_review_recorded(&mut self, _meta: &EventMeta, e: &ReviewRecorded) {
        let ReviewRecorded {
            review,
            bodies,
            recommendations,
            reply_due,
            ..
        } = e.clone();
        self.reviews.insert(
            review,
            Review {
                bodies,
                recommendations: recommendations.into_iter().map(|r| r.id).collect(),
                reply_due,
                replied: Default::default(),
            },
        );
    }

    pub(crate) fn evolve_review_replied(&mut self, _meta: &EventMeta, e: &ReviewReplied) {
        let ReviewReplied { review, body, .. } = e.clone();
        if let Some(r) = self.reviews.get_mut(&review) {
            r.replied.insert(body);
        }
    }
}
