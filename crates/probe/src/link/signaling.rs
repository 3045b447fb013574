//! Carrying out the negotiation's decisions on the peer connection: offers (with ICE
//! restarts), rollback, applying remote descriptions and answering, and the candidates
//! both ways. What to do is [`Negotiation::on`](lanmeet_native_peer::negotiation::Negotiation::on)'s
//! answer; this is how.

use std::collections::VecDeque;

use serde_json::Value;
use tracing::{debug, warn};
use webrtc::peer_connection::{RTCIceCandidateInit, RTCSessionDescription};

use lanmeet_native_peer::negotiation::{Action, Event, Signaling};
use lanmeet_native_peer::{SignalData, sdp, signal};

use super::{LinkRequest, LinkTask};

/// What a negotiation event is about: the data some actions need.
pub(super) enum Subject {
    Nothing,
    /// A remote description, as received (`data`) and parsed.
    Description {
        desc: Box<RTCSessionDescription>,
        is_offer: bool,
        session: Option<String>,
        data: Value,
    },
    /// A local candidate (or the end of candidates), as `signal.data`.
    LocalCandidate(Value),
    RemoteCandidate(RTCIceCandidateInit),
}

impl Subject {
    fn session(&self) -> Option<&str> {
        match self {
            Subject::Description { session, .. } => session.as_deref(),
            _ => None,
        }
    }
}

/// How an action turned out, when the negotiation needs to know.
enum Outcome {
    OfferSent,
    Applied,
    CandidateRejected,
}

impl LinkTask {
    /// The signaling state, read from the pending descriptions rather than from
    /// state-change events, which reach this task later than the change.
    async fn signaling(&self) -> Signaling {
        if self.pc.pending_local_description().await.is_some() {
            Signaling::HaveLocalOffer
        } else if self.pc.pending_remote_description().await.is_some() {
            Signaling::HaveRemoteOffer
        } else {
            Signaling::Stable
        }
    }

    /// Asks the negotiation what to do about `event` and does it, feeding what the
    /// actions lead to (an offer sent, a description applied, a candidate refused)
    /// back in until nothing is left to do.
    pub(super) async fn negotiate(&mut self, event: Event<'_>, subject: Subject) {
        let signaling = self.signaling().await;
        let mut todo = VecDeque::from(self.negotiation.on(event, signaling));
        while let Some(action) = todo.pop_front() {
            let next = match self.execute(action, &subject).await {
                None => continue,
                Some(Outcome::OfferSent) => Event::OfferSent,
                Some(Outcome::Applied) => Event::RemoteApplied {
                    session: subject.session(),
                },
                Some(Outcome::CandidateRejected) => Event::CandidateRejected,
            };
            let signaling = self.signaling().await;
            todo.extend(self.negotiation.on(next, signaling));
        }
    }

    async fn execute(&mut self, action: Action, subject: &Subject) -> Option<Outcome> {
        match (action, subject) {
            (Action::Offer { ice_restart }, _) => self.offer(ice_restart).await,
            (Action::Apply { rollback }, Subject::Description { desc, is_offer, .. }) => {
                self.apply(RTCSessionDescription::clone(desc), *is_offer, rollback)
                    .await
            }
            (Action::Ignore(why), _) => {
                debug!(peer = %self.ctx.peer_id, "ignoring a signal: {why:?}");
                None
            }
            (Action::Replace, Subject::Description { data, .. }) => {
                debug!(peer = %self.ctx.peer_id, "the peer started a new connection");
                self.send(LinkRequest::Replace(data.clone()));
                None
            }
            (Action::SendCandidate, Subject::LocalCandidate(data)) => {
                self.send(LinkRequest::Signal(data.clone()));
                None
            }
            (Action::HoldCandidate, Subject::LocalCandidate(data)) => {
                self.held_candidates.push(data.clone());
                None
            }
            (Action::SendHeldCandidates, _) => {
                for candidate in std::mem::take(&mut self.held_candidates) {
                    self.send(LinkRequest::Signal(candidate));
                }
                None
            }
            (Action::AddCandidate, Subject::RemoteCandidate(init)) => {
                match self.pc.add_ice_candidate(init.clone()).await {
                    Ok(()) => None,
                    Err(e) => {
                        self.rejected_candidate = Some(e.to_string());
                        Some(Outcome::CandidateRejected)
                    }
                }
            }
            (Action::ReportRejectedCandidate, _) => {
                // `.local` (mDNS) candidates land here: the probe does not resolve them.
                if let Some(e) = self.rejected_candidate.take() {
                    self.record_error("add candidate", e);
                }
                None
            }
            (action, _) => {
                warn!(peer = %self.ctx.peer_id, "negotiation asked for {action:?} without its subject");
                None
            }
        }
    }

    /// Makes and sends an offer (restarting ICE first when asked).
    async fn offer(&mut self, ice_restart: bool) -> Option<Outcome> {
        let result = async {
            if ice_restart {
                self.pc.restart_ice().await?;
            }
            let offer = self.pc.create_offer(None).await?;
            self.pc.set_local_description(offer.clone()).await?;
            Ok::<_, webrtc::error::Error>(offer)
        }
        .await;
        match result {
            Ok(offer) => {
                debug!(peer = %self.ctx.peer_id, ice_restart, "offer sent");
                self.local_candidates.set_local_description(&offer.sdp);
                self.send(LinkRequest::Signal(SignalData::description(
                    "offer", &offer.sdp,
                )));
                Some(Outcome::OfferSent)
            }
            Err(e) => {
                self.record_error("offer", e);
                None
            }
        }
    }

    /// Applies a remote description (rolling our offer back first when asked) and
    /// answers an offer.
    async fn apply(
        &mut self,
        desc: RTCSessionDescription,
        is_offer: bool,
        rollback: bool,
    ) -> Option<Outcome> {
        if rollback {
            match signal::rollback() {
                Ok(rb) => {
                    if let Err(e) = self.pc.set_local_description(rb).await {
                        self.record_error("rollback", e);
                    }
                }
                Err(e) => self.record_error("rollback", e),
            }
        }
        let kind = desc.sdp_type;
        let result = async {
            self.pc.set_remote_description(desc).await?;
            if is_offer {
                // Our tracks go on the offer's transceivers (a no-op after the first).
                self.start_sending().await;
                let answer = self.pc.create_answer(None).await?;
                self.pc.set_local_description(answer.clone()).await?;
                return Ok::<_, webrtc::error::Error>(Some(answer));
            }
            Ok(None)
        }
        .await;
        match result {
            Ok(answer) => {
                debug!(peer = %self.ctx.peer_id, "remote {kind} applied");
                self.ctx
                    .store
                    .update_link(&self.ctx.peer_id, self.ctx.generation, |l| {
                        l.descriptions_applied += 1
                    });
                if let Some(answer) = answer {
                    self.local_candidates.set_local_description(&answer.sdp);
                    self.send(LinkRequest::Signal(SignalData::description(
                        "answer",
                        &answer.sdp,
                    )));
                }
                Some(Outcome::Applied)
            }
            Err(e) => {
                self.record_error(&format!("apply remote {kind}"), e);
                None
            }
        }
    }

    pub(super) async fn on_signal(&mut self, data: Value) {
        match SignalData::parse(&data) {
            SignalData::Description { kind, sdp } => {
                let session = sdp::session_id(&sdp).map(str::to_owned);
                let (desc, is_offer) = match kind.as_str() {
                    "offer" => (RTCSessionDescription::offer(sdp), true),
                    "answer" => (RTCSessionDescription::answer(sdp), false),
                    "pranswer" => (RTCSessionDescription::pranswer(sdp), false),
                    other => {
                        debug!(peer = %self.ctx.peer_id, "ignoring description of type {other}");
                        return;
                    }
                };
                let desc = match desc {
                    Ok(desc) => desc,
                    Err(e) => {
                        self.record_error(&format!("remote {kind}"), e);
                        return;
                    }
                };
                let subject = Subject::Description {
                    desc: Box::new(desc),
                    is_offer,
                    session,
                    data,
                };
                let session = subject.session().map(str::to_owned);
                let session = session.as_deref();
                let event = if is_offer {
                    Event::RemoteOffer { session }
                } else {
                    Event::RemoteAnswer { session }
                };
                self.negotiate(event, subject).await;
            }
            SignalData::Candidate(Some(c)) => {
                let init = c.into_init();
                self.negotiate(Event::RemoteCandidate, Subject::RemoteCandidate(init))
                    .await;
            }
            SignalData::Candidate(None) => {}
            SignalData::Other => debug!(peer = %self.ctx.peer_id, "ignoring signal {data}"),
        }
    }
}
