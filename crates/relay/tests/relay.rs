//! The relay against real TURN clients (the `turn` crate's client, and raw STUN
//! messages over TCP), on loopback: members get allocations and their data is
//! relayed; strangers, expired or forged credentials get nothing; quotas hold
//! under a flood; leaving (or the room closing) ends allocations. The last test
//! goes through a real node: the credentials come from `welcome`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use lanmeet_core::{IceGrants, IceServer, Members};
use lanmeet_relay::{Relay, RelayConfig};
use lanmeet_test_support::PATIENCE;
use lanmeet_test_support::node::TestNode;
use stun::attributes::{ATTR_NONCE, ATTR_REALM, ATTR_USERNAME};
use stun::error_code::ErrorCodeAttribute;
use stun::integrity::MessageIntegrity;
use stun::message::{
    BINDING_REQUEST, CLASS_REQUEST, CLASS_SUCCESS_RESPONSE, Getter, METHOD_ALLOCATE, Message,
    MessageType, Setter,
};
use stun::textattrs::TextAttribute;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_tungstenite::tungstenite::Message as Ws;
use turn::client::{Client, ClientConfig};
use turn::proto::reqtrans::RequestedTransport;
use turn::proto::{PROTO_UDP, relayaddr::RelayedAddress};
use webrtc_util::Conn;

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn config() -> RelayConfig {
    RelayConfig {
        bind: LO,
        sweep_interval: Duration::from_millis(100),
        ..RelayConfig::default()
    }
}

/// A relay whose members are the names in the returned set.
async fn relay_with(config: RelayConfig) -> (Relay, Arc<Mutex<Vec<String>>>, impl Drop) {
    let relay = Relay::start(config).await.unwrap();
    let members = Arc::new(Mutex::new(vec!["alice".to_owned(), "bob".to_owned()]));
    let m = members.clone();
    let (handle, keep) = Members::from_fn(move |id| m.lock().unwrap().iter().any(|x| x == id));
    relay.grants().attach(handle, LO);
    (relay, members, Guard(keep))
}

struct Guard<T>(#[allow(dead_code)] T);
impl<T> Drop for Guard<T> {
    fn drop(&mut self) {}
}

fn creds(server: &IceServer) -> (String, String) {
    (
        server.username.clone().unwrap(),
        server.credential.clone().unwrap(),
    )
}

/// A TURN client over UDP on loopback with these credentials.
async fn client(relay: &Relay, username: &str, password: &str) -> Client {
    let conn = Arc::new(UdpSocket::bind((LO, 0)).await.unwrap());
    let client = Client::new(ClientConfig {
        stun_serv_addr: String::new(),
        turn_serv_addr: relay.udp_addr().to_string(),
        username: username.to_owned(),
        password: password.to_owned(),
        realm: String::new(),
        software: String::new(),
        rto_in_ms: 0,
        conn,
        vnet: None,
    })
    .await
    .unwrap();
    client.listen().await.unwrap();
    client
}

/// An allocation and the client that holds it.
struct Allocation {
    conn: Box<dyn Conn + Send + Sync>,
    _client: Client,
}

async fn allocate(relay: &Relay, username: &str, password: &str) -> Option<Allocation> {
    let client = client(relay, username, password).await;
    // The client's own transactions give up after a few retransmissions.
    let got = tokio::time::timeout(PATIENCE, client.allocate())
        .await
        .unwrap();
    got.ok().map(|conn| Allocation {
        conn: Box::new(conn),
        _client: client,
    })
}

async fn settle(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_gets_an_allocation_and_its_data_is_relayed() {
    let (relay, _members, _keep) = relay_with(config()).await;
    let grant = relay.grants().grant("alice");
    assert_eq!(grant.len(), 1);
    let port = relay.udp_addr().port();
    assert_eq!(
        grant[0].urls,
        [
            format!("turn:127.0.0.1:{port}?transport=udp"),
            format!("turn:127.0.0.1:{port}?transport=tcp")
        ]
    );
    let (user, pass) = creds(&grant[0]);
    assert!(user.ends_with(":alice"));
    let alloc = allocate(&relay, &user, &pass)
        .await
        .expect("a member is served");
    let relayed = &alloc.conn;
    assert_eq!(relay.allocations(), 1);
    let relayed_addr = relayed.local_addr().unwrap();
    assert_eq!(relayed_addr.ip(), LO);

    // A peer on the far side sees the relayed address, and its answer comes back.
    let peer = UdpSocket::bind((LO, 0)).await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    relayed
        .send_to(b"hello through the host", peer_addr)
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = tokio::time::timeout(PATIENCE, peer.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"hello through the host");
    assert_eq!(from.port(), relayed_addr.port());
    peer.send_to(b"and back", from).await.unwrap();
    let (n, back_from) = tokio::time::timeout(PATIENCE, relayed.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"and back");
    assert_eq!(back_from, peer_addr);
    drop(alloc);
    relay.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_forged_and_expired_credentials_get_no_allocation() {
    let (relay, _members, _keep) = relay_with(config()).await;
    let (user, pass) = creds(&relay.grants().grant("alice")[0]);
    let (carol, carol_pass) = creds(&relay.grants().grant("carol")[0]);
    let far = u64::MAX / 2;
    let attempts = [
        ("no credentials".to_owned(), String::new(), String::new()),
        (
            "wrong password".to_owned(),
            user.clone(),
            "guess".to_owned(),
        ),
        ("not a member".to_owned(), carol, carol_pass),
        (
            "someone else's password".to_owned(),
            format!("{far}:alice"),
            pass.clone(),
        ),
        ("expired".to_owned(), "1:alice".to_owned(), pass.clone()),
    ];
    for (what, u, p) in attempts {
        assert!(allocate(&relay, &u, &p).await.is_none(), "{what}: refused");
    }
    assert_eq!(relay.allocations(), 0);
    assert!(
        allocate(&relay, &user, &pass).await.is_some(),
        "alice still can"
    );
    relay.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_ends_the_allocations_and_refuses_new_ones() {
    let (relay, members, _keep) = relay_with(config()).await;
    let (user, pass) = creds(&relay.grants().grant("alice")[0]);
    let (bob, bob_pass) = creds(&relay.grants().grant("bob")[0]);
    let _a = allocate(&relay, &user, &pass).await.unwrap();
    let _b = allocate(&relay, &bob, &bob_pass).await.unwrap();
    assert_eq!(relay.allocations(), 2);
    members.lock().unwrap().retain(|m| m != "alice");
    settle("alice's allocation to end", || relay.allocations() == 1).await;
    assert!(allocate(&relay, &user, &pass).await.is_none());
    assert_eq!(relay.allocations(), 1, "bob's stays");
    drop((_a, _b));
    relay.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_hold_under_a_flood() {
    let (relay, _members, _keep) = relay_with(RelayConfig {
        max_allocations_per_member: 2,
        max_allocations: 3,
        requests_burst: 1000,
        requests_per_sec: 1000,
        ..config()
    })
    .await;
    let relay = Arc::new(relay);
    let (user, pass) = creds(&relay.grants().grant("alice")[0]);
    let (bob, bob_pass) = creds(&relay.grants().grant("bob")[0]);
    let mut tries = Vec::new();
    for i in 0..24 {
        let relay = relay.clone();
        let (u, p) = if i % 3 == 0 {
            (bob.clone(), bob_pass.clone())
        } else {
            (user.clone(), pass.clone())
        };
        tries.push(tokio::spawn(async move { allocate(&relay, &u, &p).await }));
    }
    let mut held = Vec::new();
    for t in tries {
        if let Some(c) = t.await.unwrap() {
            held.push(c);
        }
    }
    assert_eq!(held.len(), 3, "2 for alice, 1 for bob (the relay's total)");
    assert_eq!(relay.allocations(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unauthenticated_requests_is_answered_at_the_request_rate() {
    let cfg = RelayConfig {
        requests_burst: 20,
        requests_per_sec: 10,
        ..config()
    };
    let (burst, rate) = (cfg.requests_burst, cfg.requests_per_sec);
    let (relay, _members, _keep) = relay_with(cfg).await;
    let sock = UdpSocket::bind((LO, 0)).await.unwrap();
    let start = Instant::now();
    let sent = 3000;
    for _ in 0..sent {
        let mut m = Message::new();
        m.build(&[
            Box::new(stun::agent::TransactionId::new()),
            Box::new(MessageType::new(METHOD_ALLOCATE, CLASS_REQUEST)),
            Box::new(RequestedTransport {
                protocol: PROTO_UDP,
            }),
        ])
        .unwrap();
        sock.send_to(&m.raw, relay.udp_addr()).await.unwrap();
    }
    // Count the answers until the socket stays quiet for a while.
    let mut answers = 0u32;
    let mut buf = [0u8; 1500];
    while let Ok(Ok(_)) =
        tokio::time::timeout(Duration::from_millis(500), sock.recv_from(&mut buf)).await
    {
        answers += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let allowed = f64::from(burst) + f64::from(rate) * elapsed + 1.0;
    assert!(answers >= 1, "a client without credentials is challenged");
    assert!(
        f64::from(answers) <= allowed,
        "{answers} answers to {sent} requests in {elapsed:.1} s: at most {allowed:.0}"
    );
    assert_eq!(relay.allocations(), 0);
    relay.close().await;
}

/// One request over TCP, framed as RFC 5766 says; the response.
async fn tcp_request(stream: &mut TcpStream, setters: &[Box<dyn Setter>]) -> Message {
    let mut m = Message::new();
    m.build(setters).unwrap();
    stream.write_all(&m.raw).await.unwrap();
    let mut head = [0u8; 20];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut head))
        .await
        .unwrap()
        .unwrap();
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let mut raw = head.to_vec();
    raw.resize(20 + len, 0);
    stream.read_exact(&mut raw[20..]).await.unwrap();
    let mut out = Message::new();
    out.raw = raw;
    out.decode().unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocations_work_over_tcp_for_members_only() {
    let (relay, _members, _keep) = relay_with(config()).await;
    let (user, pass) = creds(&relay.grants().grant("alice")[0]);
    let mut stream = TcpStream::connect(relay.tcp_addr()).await.unwrap();
    let allocate = |extra: Vec<Box<dyn Setter>>| {
        let mut s: Vec<Box<dyn Setter>> = vec![
            Box::new(stun::agent::TransactionId::new()),
            Box::new(MessageType::new(METHOD_ALLOCATE, CLASS_REQUEST)),
            Box::new(RequestedTransport {
                protocol: PROTO_UDP,
            }),
        ];
        s.extend(extra);
        s
    };
    let challenge = tcp_request(&mut stream, &allocate(vec![])).await;
    let mut code = ErrorCodeAttribute::default();
    code.get_from(&challenge).unwrap();
    assert_eq!(code.code.0, 401);
    let realm = TextAttribute::get_from_as(&challenge, ATTR_REALM)
        .unwrap()
        .text;
    let mut nonce = TextAttribute::get_from_as(&challenge, ATTR_NONCE)
        .unwrap()
        .text;
    let signed = |nonce: &str, password: &str| {
        allocate(vec![
            Box::new(TextAttribute::new(ATTR_USERNAME, user.clone())),
            Box::new(TextAttribute::new(ATTR_REALM, realm.clone())),
            Box::new(TextAttribute::new(ATTR_NONCE, nonce.to_owned())),
            Box::new(MessageIntegrity::new_long_term_integrity(
                user.clone(),
                realm.clone(),
                password.to_owned(),
            )),
        ])
    };
    let forged = tcp_request(&mut stream, &signed(&nonce, "guess")).await;
    let mut code = ErrorCodeAttribute::default();
    code.get_from(&forged).unwrap();
    assert_eq!(code.code.0, 401, "a forged password is refused at the gate");
    // The server's own nonce (438) once, then the allocation.
    let mut answer = tcp_request(&mut stream, &signed(&nonce, &pass)).await;
    for _ in 0..2 {
        if answer.typ.class == CLASS_SUCCESS_RESPONSE {
            break;
        }
        nonce = TextAttribute::get_from_as(&answer, ATTR_NONCE)
            .unwrap()
            .text;
        answer = tcp_request(&mut stream, &signed(&nonce, &pass)).await;
    }
    assert_eq!(answer.typ.class, CLASS_SUCCESS_RESPONSE, "{answer:?}");
    let mut relayed = RelayedAddress::default();
    relayed.get_from(&answer).unwrap();
    assert_eq!(relayed.ip, LO);
    assert_eq!(relay.allocations(), 1);
    // A binding request (plain STUN) is answered too.
    let binding = tcp_request(
        &mut stream,
        &[
            Box::new(stun::agent::TransactionId::new()),
            Box::new(BINDING_REQUEST),
        ],
    )
    .await;
    assert_eq!(binding.typ.class, CLASS_SUCCESS_RESPONSE);
    relay.close().await;
}

/// Through a real node: `welcome` carries the relay's URLs and credentials; they
/// work while the member is in the room and stop when the room closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welcome_carries_credentials_that_end_with_the_room() {
    let relay = Relay::start(config()).await.unwrap();
    let fixed = IceServer {
        urls: vec!["stun:192.0.2.1:3478".into()],
        username: None,
        credential: None,
    };
    let grants = relay.grants();
    let node = TestNode::start_with(|c| {
        c.ice_grants = Some(grants);
        c.ice_servers = vec![fixed.clone()];
    })
    .await;
    let room = node.room();
    let (mut ws, _) = tokio_tungstenite::connect_async(node.ws_url())
        .await
        .unwrap();
    let join = serde_json::json!({"type":"join","room":room.code.as_str(),"name":"Alice"});
    ws.send(Ws::text(join.to_string())).await.unwrap();
    let welcome = loop {
        match tokio::time::timeout(PATIENCE, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            Ws::Text(t) => break serde_json::from_str::<serde_json::Value>(&t).unwrap(),
            _ => continue,
        }
    };
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let servers = welcome["iceServers"].as_array().unwrap();
    assert_eq!(
        servers.len(),
        2,
        "the relay, then the fixed server: {welcome}"
    );
    assert_eq!(
        servers[1],
        serde_json::json!({"urls":["stun:192.0.2.1:3478"]})
    );
    let user = servers[0]["username"].as_str().unwrap();
    let pass = servers[0]["credential"].as_str().unwrap();
    assert_eq!(
        user.split_once(':').unwrap().1,
        welcome["id"].as_str().unwrap()
    );
    let port = relay.udp_addr().port();
    assert_eq!(
        servers[0]["urls"][0],
        format!("turn:127.0.0.1:{port}?transport=udp")
    );
    let _alloc = allocate(&relay, user, pass)
        .await
        .expect("a member is served");
    assert_eq!(relay.allocations(), 1);
    assert!(node.close_room(room.code));
    settle("the allocation to end with the room", || {
        relay.allocations() == 0
    })
    .await;
    assert!(allocate(&relay, user, pass).await.is_none());
    drop(_alloc);
    node.shutdown().await;
    relay.close().await;
}
