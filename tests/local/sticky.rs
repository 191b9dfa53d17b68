//! With stickiness on, the balancer pins a client to one replica with a cookie; without the cookie,
//! requests spread.

use std::collections::BTreeSet;

use scaling_tests::https::Connection;

use crate::{dashmath_spec, deploy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sticky_cookie_pins_a_client_to_one_replica() {
    let mut spec = dashmath_spec();
    spec.app.desired_count = 2;
    spec.load_balancer.stickiness = true;
    let d = deploy(spec).await;
    let mut connection = Connection::open("dashmath.localhost", d.https_port, Some(d.tls.clone())).await.unwrap();

    let first = connection.send("GET", "/", None).await.unwrap();
    let cookie = first.headers.get("set-cookie").expect("a sticky cookie").to_str().unwrap().to_string();
    let replica = first.headers["x-scaling-replica"].to_str().unwrap().to_string();
    assert!(cookie.starts_with(&format!("SCALING_REPLICA={replica};")), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("Max-Age=86400"), "{cookie}");

    let pair = cookie.split(';').next().unwrap().to_string();
    for _ in 0..12 {
        let reply = connection.send_with("GET", "/_dash-layout", None, &[("cookie", &pair)]).await.unwrap();
        assert_eq!(reply.headers["x-scaling-replica"].to_str().unwrap(), replica, "pinned");
        assert!(reply.headers.get("set-cookie").is_none(), "no new cookie while pinned");
    }
    let mut spread = BTreeSet::new();
    for _ in 0..12 {
        spread.insert(
            connection.send("GET", "/_dash-layout", None).await.unwrap().headers["x-scaling-replica"]
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(spread.len(), 2, "without the cookie, requests spread");
    d.cloud.shutdown().await;
}
