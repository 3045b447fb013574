//! The negotiation decisions of one link, as a pure state machine: given what just
//! happened and where the offer/answer exchange stands, what to do. A native client (the
//! probe's link task) reads the signaling state from its peer connection, asks
//! [`Negotiation::on`], and carries out the returned [`Action`]s; nothing here touches
//! the network, so every rule is tested without WebRTC.
//!
//! The rules are the UI's (`ui/peer.js`, `offerAction`), so a probe and a browser
//! agree in every case:
//!
//! - **Who offers.** The newcomer (`offerer`) makes the first offer when the stack
//!   says negotiation is needed, or after a short wait if it never does. Later offers
//!   follow `negotiationneeded` too. One that comes while an exchange is under way is
//!   dropped: webrtc 0.21 re-checks when the connection is stable again and fires once
//!   more if anything is still un-negotiated (W3C "update the negotiation-needed flag").
//! - **Glare** (an offer while ours is out) is perfect negotiation: of the two ids, the
//!   one that sorts first is polite; the polite side rolls its offer back and answers,
//!   the impolite side ignores the offer (and the failures of its candidates).
//! - **Sessions.** An SDP's `o=` session id is fixed for the life of a peer
//!   connection. An offer with another session id than the remote's last description
//!   means the remote started over with a new connection under the same id (a reloaded
//!   page resumes its id): this link is replaced by a fresh one that answers it. While
//!   our first offer is unanswered we know no remote session, so an offer then is a
//!   glare of two first offers or a stale one for a connection that no longer exists:
//!   the polite side replaces its link with one that answers, the impolite one ignores
//!   it. Remote candidates are ignored until a remote description is applied.
//! - **Stale answers** (no offer of ours pending, or from another session) are
//!   ignored.
//! - **ICE restart.** When the connection fails, restart ICE with a new offer, at most
//!   [`MAX_ICE_RESTARTS`] times until it connects again; an offer that cannot go out
//!   now (an exchange under way) goes out as soon as the connection is stable.
//! - **Candidates.** While our offer awaits its answer, our local candidates are held
//!   and sent once the answer is applied (see [`Action::HoldCandidate`]).
//!
//! An offer is created and set within one step of the link task, so the pattern's
//! `makingOffer` flag is never observable here: "an offer of ours is out" is exactly
//! "the signaling state is not stable".

/// ICE restarts tried after a failure, until the connection is connected again (the
/// UI's default too).
pub const MAX_ICE_RESTARTS: u32 = 2;

/// Where the offer/answer exchange stands, read from the peer connection's pending
/// descriptions (W3C `signalingState`, without the provisional-answer states, which
/// no lanmeet client produces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signaling {
    /// No exchange under way.
    Stable,
    /// Our offer is set and its answer not applied yet.
    HaveLocalOffer,
    /// A remote offer is set and our answer not yet.
    HaveRemoteOffer,
}

/// Something that concerns the negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// The stack's `negotiationneeded`.
    NegotiationNeeded,
    /// The newcomer waited for `negotiationneeded` long enough.
    OfferTimeout,
    /// Our offer is set and sent.
    OfferSent,
    /// A remote offer arrived, with its SDP session id when it has one.
    RemoteOffer { session: Option<&'a str> },
    /// A remote answer (or provisional answer) arrived.
    RemoteAnswer { session: Option<&'a str> },
    /// A remote description was applied (for an offer: and our answer set and sent).
    RemoteApplied { session: Option<&'a str> },
    /// The stack gathered a local candidate (or finished gathering).
    LocalCandidate,
    /// A remote candidate arrived.
    RemoteCandidate,
    /// The stack refused a remote candidate.
    CandidateRejected,
    /// The peer connection reached `connected`.
    Connected,
    /// The peer connection reached `failed`.
    Failed,
}

/// What the link task does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Create an offer, set it and send it; with `ice_restart`, restart ICE first.
    Offer { ice_restart: bool },
    /// Apply the remote description (answering an offer); with `rollback`, roll our
    /// pending offer back first.
    Apply { rollback: bool },
    /// Drop the remote description or candidate.
    Ignore(Ignored),
    /// The remote started a new connection: replace this link with a fresh one that
    /// answers the offer.
    Replace,
    /// Send the local candidate now.
    SendCandidate,
    /// Keep the local candidate until our offer's answer is applied.
    ///
    /// Why: the answerer starts ICE checks as soon as it has our candidates, and they
    /// reach us before its answer does. webrtc 0.21's agent, not yet started (no
    /// remote credentials), answers such checks with a role conflict, and the pair
    /// then waits ~1 s for a retry (measured: one pair in three of a 4-probe mesh).
    /// Sending our candidates after the answer costs one signaling hop and makes the
    /// answerer's checks arrive when our agent is ready. Browsers just see a later
    /// trickle.
    HoldCandidate,
    /// Send the candidates held so far, in order.
    SendHeldCandidates,
    /// Add the remote candidate.
    AddCandidate,
    /// Record the rejected candidate as the link's last error.
    ReportRejectedCandidate,
}

/// Why a remote description or candidate is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// An offer that collides with ours, and we are the impolite side.
    Glare,
    /// An answer to no offer of ours (rolled back, or answered already), or from a
    /// connection of the remote other than the one we talk to.
    StaleAnswer,
    /// A candidate before any remote description: it belongs to a connection we do
    /// not have.
    NoRemoteDescription,
}

/// The negotiation state of one link.
#[derive(Debug, Clone)]
pub struct Negotiation {
    /// This side gives way in a glare (its id sorts first).
    polite: bool,
    /// This side is the newcomer: it makes the first offer.
    offerer: bool,
    /// An offer of ours went out at least once.
    offered: bool,
    /// Our offer is out and its answer not applied: local candidates are held.
    awaiting_answer: bool,
    /// The last remote offer was ignored: its candidates are expected to fail.
    ignoring_offer: bool,
    /// The SDP session id of the last remote description applied.
    remote_session: Option<String>,
    /// ICE restarts since the connection was last connected.
    ice_restarts: u32,
    /// An ICE restart is due, waiting for the connection to be stable.
    restart_due: bool,
}

impl Negotiation {
    /// A link's negotiation before anything happened.
    pub fn new(polite: bool, offerer: bool) -> Self {
        Negotiation {
            polite,
            offerer,
            offered: false,
            awaiting_answer: false,
            ignoring_offer: false,
            remote_session: None,
            ice_restarts: 0,
            restart_due: false,
        }
    }

    /// What to do about `event`, the peer connection being in `signaling`.
    pub fn on(&mut self, event: Event<'_>, signaling: Signaling) -> Vec<Action> {
        match event {
            Event::NegotiationNeeded => self.offer_if_stable(signaling),
            Event::OfferTimeout if !self.offered => self.offer_if_stable(signaling),
            Event::OfferTimeout => vec![],
            Event::OfferSent => {
                self.offered = true;
                self.awaiting_answer = true;
                vec![]
            }
            Event::RemoteOffer { session } => vec![self.offer_action(session, signaling)],
            Event::RemoteAnswer { session } => vec![self.answer_action(session, signaling)],
            Event::RemoteApplied { session } => {
                self.remote_session = session
                    .map(str::to_owned)
                    .or(self.remote_session.take())
                    .or_else(|| Some("unknown".to_owned()));
                self.awaiting_answer = false;
                let mut actions = vec![Action::SendHeldCandidates];
                if self.restart_due {
                    actions.extend(self.offer_if_stable(signaling));
                }
                actions
            }
            Event::LocalCandidate if self.awaiting_answer => vec![Action::HoldCandidate],
            Event::LocalCandidate => vec![Action::SendCandidate],
            Event::RemoteCandidate if self.remote_session.is_none() => {
                vec![Action::Ignore(Ignored::NoRemoteDescription)]
            }
            Event::RemoteCandidate => vec![Action::AddCandidate],
            Event::CandidateRejected if self.ignoring_offer => vec![],
            Event::CandidateRejected => vec![Action::ReportRejectedCandidate],
            Event::Connected => {
                self.ice_restarts = 0;
                self.restart_due = false;
                vec![]
            }
            Event::Failed if self.ice_restarts < MAX_ICE_RESTARTS => {
                self.ice_restarts += 1;
                self.restart_due = true;
                self.offer_if_stable(signaling)
            }
            Event::Failed => vec![],
        }
    }

    /// An offer now if nothing is under way (restarting ICE when a restart is due).
    /// Otherwise none: the stack fires `negotiationneeded` again once stable, and a due
    /// restart goes out when the exchange under way is applied.
    fn offer_if_stable(&mut self, signaling: Signaling) -> Vec<Action> {
        if signaling != Signaling::Stable {
            return vec![];
        }
        let ice_restart = std::mem::take(&mut self.restart_due);
        vec![Action::Offer { ice_restart }]
    }

    /// The UI's `offerAction`, for the cases a link can be in.
    fn offer_action(&mut self, session: Option<&str>, signaling: Signaling) -> Action {
        let action = match &self.remote_session {
            Some(known) if session.is_some_and(|s| s != known) => Action::Replace,
            // Our first offer is unanswered: glare of first offers, or a stale offer.
            None if self.offerer => {
                if self.polite {
                    Action::Replace
                } else {
                    Action::Ignore(Ignored::Glare)
                }
            }
            _ if signaling == Signaling::Stable => Action::Apply { rollback: false },
            _ if self.polite => Action::Apply { rollback: true },
            _ => Action::Ignore(Ignored::Glare),
        };
        self.ignoring_offer = action == Action::Ignore(Ignored::Glare);
        action
    }

    fn answer_action(&mut self, session: Option<&str>, signaling: Signaling) -> Action {
        // Candidates sent after an answer belong to the exchange it completes.
        self.ignoring_offer = false;
        let other_session = matches!(
            (&self.remote_session, session),
            (Some(known), Some(s)) if s != known
        );
        if signaling != Signaling::HaveLocalOffer || other_session {
            Action::Ignore(Ignored::StaleAnswer)
        } else {
            Action::Apply { rollback: false }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Action::*;
    use super::Signaling::*;
    use super::*;

    /// Two sides of one pair: `b` sorts first, so it is polite.
    fn sides(offerer_is_a: bool) -> (Negotiation, Negotiation) {
        (
            Negotiation::new(false, offerer_is_a),
            Negotiation::new(true, !offerer_is_a),
        )
    }

    fn offer(session: &str) -> Event<'_> {
        Event::RemoteOffer {
            session: Some(session),
        }
    }

    fn answer(session: &str) -> Event<'_> {
        Event::RemoteAnswer {
            session: Some(session),
        }
    }

    fn applied(session: &str) -> Event<'_> {
        Event::RemoteApplied {
            session: Some(session),
        }
    }

    /// `n` made an offer and had it answered by session `remote`: connected, stable.
    fn negotiated(n: &mut Negotiation, remote: &str) {
        n.on(Event::NegotiationNeeded, Stable);
        n.on(Event::OfferSent, HaveLocalOffer);
        n.on(answer(remote), HaveLocalOffer);
        n.on(applied(remote), Stable);
        n.on(Event::Connected, Stable);
    }

    /// `n` answered a first offer from session `remote`.
    fn answered(n: &mut Negotiation, remote: &str) {
        assert_eq!(n.on(offer(remote), Stable), [Apply { rollback: false }]);
        n.on(applied(remote), Stable);
        n.on(Event::Connected, Stable);
    }

    /// The cases of the UI's `offerAction` test (ui/tests/unit/peer.test.js), in a
    /// link's terms: a link always has its peer connection, and its `makingOffer` is
    /// "not stable" (see the module doc).
    #[test]
    fn offer_rules_are_the_uis_offer_action() {
        let decide = |polite, initiator, remote: Option<&str>, offer: &str, signaling| {
            let mut n = Negotiation::new(polite, initiator);
            n.remote_session = remote.map(str::to_owned);
            n.offer_action(Some(offer), signaling)
        };
        let s1 = Some("s1");
        assert_eq!(
            decide(false, false, s1, "s1", Stable),
            Apply { rollback: false }
        );
        assert_eq!(
            decide(false, false, s1, "s2", Stable),
            Replace,
            "the remote started over"
        );
        assert_eq!(
            decide(false, false, s1, "s1", HaveLocalOffer),
            Ignore(Ignored::Glare),
            "glare, impolite"
        );
        assert_eq!(
            decide(true, false, s1, "s1", HaveLocalOffer),
            Apply { rollback: true },
            "glare, polite rolls back"
        );
        assert_eq!(
            decide(false, true, None, "s1", HaveLocalOffer),
            Ignore(Ignored::Glare),
            "first offer unanswered, impolite"
        );
        assert_eq!(
            decide(true, true, None, "s1", HaveLocalOffer),
            Replace,
            "first offer unanswered, polite"
        );
        assert_eq!(
            decide(false, false, None, "s1", Stable),
            Apply { rollback: false }
        );
    }

    #[test]
    fn the_newcomer_offers_once_the_stack_asks() {
        let (mut a, _) = sides(true);
        assert_eq!(
            a.on(Event::NegotiationNeeded, Stable),
            [Offer { ice_restart: false }]
        );
        assert_eq!(a.on(Event::OfferSent, HaveLocalOffer), []);
        assert_eq!(
            a.on(Event::OfferTimeout, HaveLocalOffer),
            [],
            "the fallback has nothing to do after an offer"
        );
    }

    #[test]
    fn the_newcomer_offers_on_its_own_when_the_stack_never_asks() {
        let (mut a, _) = sides(true);
        assert_eq!(
            a.on(Event::OfferTimeout, Stable),
            [Offer { ice_restart: false }]
        );
    }

    #[test]
    fn negotiation_needed_during_an_exchange_waits_for_the_stack_to_ask_again() {
        let (mut a, _) = sides(true);
        a.on(Event::NegotiationNeeded, Stable);
        a.on(Event::OfferSent, HaveLocalOffer);
        assert_eq!(a.on(Event::NegotiationNeeded, HaveLocalOffer), []);
        assert_eq!(
            a.on(answer("s-b"), HaveLocalOffer),
            [Apply { rollback: false }]
        );
        assert_eq!(
            a.on(applied("s-b"), Stable),
            [SendHeldCandidates],
            "no offer of our own: webrtc re-fires negotiationneeded when still needed"
        );
        assert_eq!(
            a.on(Event::NegotiationNeeded, Stable),
            [Offer { ice_restart: false }]
        );
    }

    #[test]
    fn the_answerer_applies_the_first_offer_and_sends_candidates_at_once() {
        let (_, mut b) = sides(true);
        assert_eq!(b.on(offer("s-a"), Stable), [Apply { rollback: false }]);
        assert_eq!(b.on(applied("s-a"), Stable), [SendHeldCandidates]);
        assert_eq!(b.on(Event::LocalCandidate, Stable), [SendCandidate]);
        assert_eq!(b.on(Event::RemoteCandidate, Stable), [AddCandidate]);
    }

    #[test]
    fn local_candidates_wait_for_the_answer_to_our_offer() {
        let (mut a, _) = sides(true);
        a.on(Event::NegotiationNeeded, Stable);
        a.on(Event::OfferSent, HaveLocalOffer);
        assert_eq!(a.on(Event::LocalCandidate, HaveLocalOffer), [HoldCandidate]);
        assert_eq!(a.on(Event::LocalCandidate, HaveLocalOffer), [HoldCandidate]);
        a.on(answer("s-b"), HaveLocalOffer);
        assert_eq!(a.on(applied("s-b"), Stable), [SendHeldCandidates]);
        assert_eq!(a.on(Event::LocalCandidate, Stable), [SendCandidate]);
    }

    #[test]
    fn remote_candidates_before_any_remote_description_are_ignored() {
        let (mut a, _) = sides(true);
        a.on(Event::NegotiationNeeded, Stable);
        a.on(Event::OfferSent, HaveLocalOffer);
        assert_eq!(
            a.on(Event::RemoteCandidate, HaveLocalOffer),
            [Ignore(Ignored::NoRemoteDescription)]
        );
        a.on(answer("s-b"), HaveLocalOffer);
        a.on(applied("s-b"), Stable);
        assert_eq!(a.on(Event::RemoteCandidate, Stable), [AddCandidate]);
        assert_eq!(
            a.on(Event::CandidateRejected, Stable),
            [ReportRejectedCandidate]
        );
    }

    /// Both sides renegotiate at once (each sent an offer; each receives the other's
    /// while its own is out): the impolite side ignores, the polite side rolls back and
    /// answers, and the impolite side's offer is the one answered.
    #[test]
    fn renegotiation_glare_the_polite_side_rolls_back_the_impolite_side_ignores() {
        let (mut a, mut b) = sides(true);
        negotiated(&mut a, "s-b");
        answered(&mut b, "s-a");
        for n in [&mut a, &mut b] {
            assert_eq!(
                n.on(Event::NegotiationNeeded, Stable),
                [Offer { ice_restart: false }]
            );
            n.on(Event::OfferSent, HaveLocalOffer);
        }
        // a (impolite) gets b's offer while its own is out.
        assert_eq!(a.on(offer("s-b"), HaveLocalOffer), [Ignore(Ignored::Glare)]);
        assert_eq!(
            a.on(Event::CandidateRejected, HaveLocalOffer),
            [],
            "candidates of the ignored offer fail by design"
        );
        // b (polite) gets a's offer while its own is out.
        assert_eq!(
            b.on(offer("s-a"), HaveLocalOffer),
            [Apply { rollback: true }]
        );
        assert_eq!(b.on(applied("s-a"), Stable), [SendHeldCandidates]);
        // b's answer reaches a, whose offer was the one kept.
        assert_eq!(
            a.on(answer("s-b"), HaveLocalOffer),
            [Apply { rollback: false }]
        );
        assert_eq!(a.on(applied("s-b"), Stable), [SendHeldCandidates]);
        assert_eq!(
            a.on(Event::CandidateRejected, Stable),
            [ReportRejectedCandidate],
            "candidates after the answer are expected to work"
        );
    }

    #[test]
    fn an_answer_to_an_offer_we_rolled_back_is_stale() {
        let (_, mut b) = sides(true);
        answered(&mut b, "s-a");
        b.on(Event::NegotiationNeeded, Stable);
        b.on(Event::OfferSent, HaveLocalOffer);
        assert_eq!(
            b.on(offer("s-a"), HaveLocalOffer),
            [Apply { rollback: true }]
        );
        b.on(applied("s-a"), Stable);
        assert_eq!(b.on(answer("s-a"), Stable), [Ignore(Ignored::StaleAnswer)]);
    }

    #[test]
    fn a_second_answer_is_stale() {
        let (mut a, _) = sides(true);
        negotiated(&mut a, "s-b");
        assert_eq!(a.on(answer("s-b"), Stable), [Ignore(Ignored::StaleAnswer)]);
    }

    #[test]
    fn an_answer_from_another_connection_of_the_remote_is_stale() {
        let (mut a, _) = sides(true);
        negotiated(&mut a, "s-b");
        a.on(Event::NegotiationNeeded, Stable);
        a.on(Event::OfferSent, HaveLocalOffer);
        assert_eq!(
            a.on(answer("s-b2"), HaveLocalOffer),
            [Ignore(Ignored::StaleAnswer)]
        );
        assert_eq!(
            a.on(answer("s-b"), HaveLocalOffer),
            [Apply { rollback: false }]
        );
    }

    #[test]
    fn an_answer_without_a_session_id_is_taken_on_its_own_merits() {
        let (mut a, _) = sides(true);
        a.on(Event::NegotiationNeeded, Stable);
        a.on(Event::OfferSent, HaveLocalOffer);
        assert_eq!(
            a.on(Event::RemoteAnswer { session: None }, HaveLocalOffer),
            [Apply { rollback: false }]
        );
        a.on(Event::RemoteApplied { session: None }, Stable);
        assert_eq!(
            a.on(Event::RemoteCandidate, Stable),
            [AddCandidate],
            "a remote description is in"
        );
    }

    /// The remote reloaded its page: same id, new peer connection, new session id.
    #[test]
    fn an_offer_from_a_new_remote_session_replaces_the_link() {
        let (mut a, mut b) = sides(true);
        negotiated(&mut a, "s-b");
        answered(&mut b, "s-a");
        assert_eq!(
            a.on(offer("s-b2"), Stable),
            [Replace],
            "the answerer restarted"
        );
        assert_eq!(
            b.on(offer("s-a2"), Stable),
            [Replace],
            "the offerer restarted"
        );
        assert_eq!(
            b.on(offer("s-a"), Stable),
            [Apply { rollback: false }],
            "the same session renegotiates"
        );
    }

    #[test]
    fn an_offer_without_a_session_id_renegotiates() {
        let (_, mut b) = sides(true);
        answered(&mut b, "s-a");
        assert_eq!(
            b.on(Event::RemoteOffer { session: None }, Stable),
            [Apply { rollback: false }]
        );
    }

    /// Both sides think they are the newcomer and make a first offer.
    #[test]
    fn first_offer_glare_the_polite_side_starts_over_as_the_answerer() {
        let (mut a, mut b) = (Negotiation::new(false, true), Negotiation::new(true, true));
        for n in [&mut a, &mut b] {
            n.on(Event::NegotiationNeeded, Stable);
            n.on(Event::OfferSent, HaveLocalOffer);
        }
        assert_eq!(a.on(offer("s-b"), HaveLocalOffer), [Ignore(Ignored::Glare)]);
        assert_eq!(b.on(offer("s-a"), HaveLocalOffer), [Replace]);
        // b's fresh link answers a's first offer.
        let mut fresh_b = Negotiation::new(true, false);
        assert_eq!(
            fresh_b.on(offer("s-a"), Stable),
            [Apply { rollback: false }]
        );
        // a takes the answer of b's new connection: it knew no session of b yet.
        assert_eq!(
            a.on(answer("s-b2"), HaveLocalOffer),
            [Apply { rollback: false }]
        );
    }

    #[test]
    fn the_answerer_renegotiating_before_an_offer_of_its_own_is_not_glare() {
        let (_, mut b) = sides(true);
        answered(&mut b, "s-a");
        assert_eq!(b.on(offer("s-a"), Stable), [Apply { rollback: false }]);
    }

    #[test]
    fn a_failed_connection_restarts_ice_a_bounded_number_of_times() {
        let (mut a, _) = sides(true);
        negotiated(&mut a, "s-b");
        for _ in 0..MAX_ICE_RESTARTS {
            assert_eq!(a.on(Event::Failed, Stable), [Offer { ice_restart: true }]);
            a.on(Event::OfferSent, HaveLocalOffer);
            a.on(answer("s-b"), HaveLocalOffer);
            assert_eq!(a.on(applied("s-b"), Stable), [SendHeldCandidates]);
        }
        assert_eq!(a.on(Event::Failed, Stable), [], "given up");
        a.on(Event::Connected, Stable);
        assert_eq!(
            a.on(Event::Failed, Stable),
            [Offer { ice_restart: true }],
            "connected again: a later failure restarts again"
        );
    }

    #[test]
    fn an_ice_restart_during_an_exchange_goes_out_once_it_is_applied() {
        let (_, mut b) = sides(true);
        answered(&mut b, "s-a");
        assert_eq!(b.on(offer("s-a"), Stable), [Apply { rollback: false }]);
        // The connection fails while the remote offer is being answered.
        assert_eq!(b.on(Event::Failed, HaveRemoteOffer), []);
        assert_eq!(
            b.on(applied("s-a"), Stable),
            [SendHeldCandidates, Offer { ice_restart: true }]
        );
        b.on(Event::OfferSent, HaveLocalOffer);
        b.on(answer("s-a"), HaveLocalOffer);
        assert_eq!(
            b.on(applied("s-a"), Stable),
            [SendHeldCandidates],
            "one restart per failure"
        );
    }

    #[test]
    fn a_due_ice_restart_rides_on_the_next_negotiation_needed() {
        let (mut a, _) = sides(true);
        negotiated(&mut a, "s-b");
        a.on(Event::NegotiationNeeded, Stable);
        a.on(Event::OfferSent, HaveLocalOffer);
        assert_eq!(a.on(Event::Failed, HaveLocalOffer), []);
        // The answer fails to apply, so no RemoteApplied; the stack asks again later.
        assert_eq!(
            a.on(Event::NegotiationNeeded, Stable),
            [Offer { ice_restart: true }]
        );
    }

    #[test]
    fn connecting_again_cancels_a_due_ice_restart() {
        let (mut a, _) = sides(true);
        negotiated(&mut a, "s-b");
        a.on(Event::NegotiationNeeded, Stable);
        a.on(Event::OfferSent, HaveLocalOffer);
        a.on(Event::Failed, HaveLocalOffer);
        a.on(Event::Connected, HaveLocalOffer);
        a.on(answer("s-b"), HaveLocalOffer);
        assert_eq!(a.on(applied("s-b"), Stable), [SendHeldCandidates]);
    }

    /// The remote restarts ICE (a browser does after a failure): its offer is a plain
    /// renegotiation of the same session, and glare rules apply as to any offer.
    #[test]
    fn a_remote_ice_restart_is_a_renegotiation() {
        let (mut a, mut b) = sides(true);
        negotiated(&mut a, "s-b");
        answered(&mut b, "s-a");
        assert_eq!(a.on(offer("s-b"), Stable), [Apply { rollback: false }]);
        // Both sides fail and restart at once.
        a.on(applied("s-b"), Stable);
        for n in [&mut a, &mut b] {
            assert_eq!(n.on(Event::Failed, Stable), [Offer { ice_restart: true }]);
            n.on(Event::OfferSent, HaveLocalOffer);
        }
        assert_eq!(a.on(offer("s-b"), HaveLocalOffer), [Ignore(Ignored::Glare)]);
        assert_eq!(
            b.on(offer("s-a"), HaveLocalOffer),
            [Apply { rollback: true }]
        );
    }
}
