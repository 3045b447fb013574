//! The room service: what a node offers people besides the peer socket — open a
//! room, list rooms (here and on the LAN), close one, find the node hosting a
//! code — with the checks on what a host asks for.
//!
//! The control API ([`crate::http`]) and [`crate::Node`]'s methods are thin
//! callers of this, so `POST /api/rooms` and `Node::create_room` cannot drift
//! apart.

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::codes::RoomCode;
use crate::config::Limits;
use crate::discovery::{Discovery, LanRoom};
use crate::error::NodeError;
use crate::invite::Invite;
use crate::netif;
use crate::protocol::clean_name;
use crate::registry::Registry;
use crate::rooms::{RoomSettings, RoomStats, RoomSummary};

/// Longest passcode a host may set, in characters.
const MAX_PASSCODE: usize = 128;

/// What a host asks for when opening a room (`POST /api/rooms`). All optional.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RoomRequest {
    pub name: Option<String>,
    pub listed: Option<bool>,
    pub passcode: Option<String>,
    pub capacity: Option<usize>,
}

/// A room just opened, with what a guest needs to reach it.
#[derive(Debug, Clone, Serialize)]
pub struct RoomCreated {
    pub code: RoomCode,
    pub name: String,
    pub listed: bool,
    pub capacity: usize,
    /// `ws://HOST:LANPORT/ws`, the peer socket guests connect to.
    pub ws: String,
    /// `lanmeet://HOST:LANPORT/CODE`, for networks where discovery cannot help.
    pub invite: Invite,
}

/// This node's rooms as people see them, and the LAN's through discovery.
/// Cheap to clone.
#[derive(Clone)]
pub(crate) struct RoomService {
    /// This node's display name: the host of its rooms in "Nearby rooms".
    node_name: String,
    limits: Arc<Limits>,
    registry: Registry,
    /// Where guests reach this node's LAN listener (in `ws` and invites).
    lan_host: IpAddr,
    lan_port: u16,
    /// `None` with discovery off: then only this node's rooms exist.
    discovery: Option<Arc<Discovery>>,
}

impl RoomService {
    pub(crate) fn new(
        node_name: String,
        limits: Arc<Limits>,
        registry: Registry,
        lan: (IpAddr, u16),
        discovery: Option<Arc<Discovery>>,
    ) -> RoomService {
        RoomService {
            node_name,
            limits,
            registry,
            lan_host: lan.0,
            lan_port: lan.1,
            discovery,
        }
    }

    pub(crate) fn node_name(&self) -> &str {
        &self.node_name
    }

    pub(crate) fn lan_host(&self) -> IpAddr {
        self.lan_host
    }

    pub(crate) fn lan_port(&self) -> u16 {
        self.lan_port
    }

    pub(crate) fn discovery_enabled(&self) -> bool {
        self.discovery.is_some()
    }

    /// This node's peer socket as guests reach it, `ws://HOST:LANPORT/ws`.
    pub(crate) fn ws_url(&self) -> String {
        format!("ws://{}/ws", netif::host_port(self.lan_host, self.lan_port))
    }

    /// Opens a room. Refuses (`NodeError::Settings`) a capacity outside
    /// 2..=max, a name that is too long once cleaned, a passcode over
    /// [`MAX_PASSCODE`] characters; an empty name or passcode counts as none.
    pub(crate) fn create(&self, request: RoomRequest) -> Result<RoomCreated, NodeError> {
        let limits = &self.limits;
        let capacity = request.capacity.unwrap_or(limits.default_capacity);
        if !(2..=limits.max_capacity).contains(&capacity) {
            return Err(NodeError::Settings(format!(
                "capacity must be between 2 and {}",
                limits.max_capacity
            )));
        }
        let name = match request.name.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(clean_name(raw, limits.max_name).ok_or_else(|| {
                NodeError::Settings(format!(
                    "room name must be at most {} characters",
                    limits.max_name
                ))
            })?),
        };
        let passcode = request.passcode.filter(|p| !p.is_empty());
        if passcode
            .as_ref()
            .is_some_and(|p| p.chars().count() > MAX_PASSCODE)
        {
            return Err(NodeError::Settings(format!(
                "passcode must be at most {MAX_PASSCODE} characters"
            )));
        }
        let listed = request.listed.unwrap_or(true);
        let summary = self.registry.create_room(RoomSettings {
            name: name.unwrap_or_default(),
            listed,
            capacity,
            passcode,
        })?;
        Ok(RoomCreated {
            code: summary.code,
            name: summary.name,
            listed,
            capacity,
            ws: self.ws_url(),
            invite: Invite::new(self.lan_host, self.lan_port, summary.code),
        })
    }

    /// Closes a room hosted here; its members get `room-closed`. False when
    /// there was no such room.
    pub(crate) fn close(&self, code: RoomCode) -> bool {
        self.registry.close_room(code)
    }

    /// Whether this node hosts `code`, listed or not.
    pub(crate) fn hosts(&self, code: RoomCode) -> bool {
        self.registry.contains(code)
    }

    /// Every room hosted here, listed or not, sorted by code.
    pub(crate) fn list(&self) -> Vec<RoomSummary> {
        self.registry.list()
    }

    pub(crate) fn stats(&self) -> RoomStats {
        self.registry.stats()
    }

    /// Listed rooms on the LAN: the ones hosted here (`local: true`) first, then
    /// those discovery found on other nodes.
    pub(crate) fn lan_rooms(&self) -> Vec<LanRoom> {
        let ws = self.ws_url();
        let mut rooms: Vec<LanRoom> = self
            .registry
            .list()
            .into_iter()
            .filter(|r| r.listed)
            .map(|r| LanRoom {
                code: r.code,
                name: r.name,
                host: self.node_name.clone(),
                ws: ws.clone(),
                peers: r.peers,
                capacity: r.capacity,
                local: true,
            })
            .collect();
        if let Some(discovery) = &self.discovery {
            for room in discovery.rooms() {
                if !rooms.iter().any(|r| r.code == room.code) {
                    rooms.push(room);
                }
            }
        }
        rooms
    }

    /// The `ws` URL of the node hosting `code`, listed or not: this node, else a
    /// listed room on the LAN, else the node that says it hosts it.
    pub(crate) async fn resolve(&self, code: RoomCode) -> Option<String> {
        if self.registry.contains(code) {
            return Some(self.ws_url());
        }
        match &self.discovery {
            Some(discovery) => discovery.find(code).await,
            None => None,
        }
    }
}
