//! Authentication of every REST route, table-driven: each route (method and path, as the server
//! routes them) is called with missing, wrong and insufficient keys and must answer
//! `401 {"code": 401, "error": "Unauthorized."}` before it looks at the request, and with the
//! right keys must get past authentication.

#[path = "common/http.rs"]
mod http;

use chinwag_server::{RunningServer, Server, ServerConfig};
use http::{APP, KEY, MASTER, MASTER_KEY};
use serde_json::json;

/// Which key a route wants.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Needs {
    /// The master key only (the IM REST API 1.2).
    Master,
    /// The app key or the master key.
    AppKey,
}

/// Every REST route the server serves, with a sample path (ids that do not exist: authentication
/// comes first, so they never matter for a refused call).
const ROUTES: &[(&str, &str, Needs)] = &[
    // What the official client SDKs call (they also carry `X-LC-IM-Session-Token`).
    (
        "GET",
        "/1.1/rtm/notifications?client_id=Tom&start_ts=0",
        Needs::AppKey,
    ),
    (
        "GET",
        "/1.1/classes/_ConversationMemberInfo?client_id=Tom&where=%7B%7D",
        Needs::AppKey,
    ),
    ("POST", "/1.1/rtm/sign", Needs::AppKey),
    // IM REST API 1.2.
    ("POST", "/1.2/rtm/conversations", Needs::Master),
    ("GET", "/1.2/rtm/conversations", Needs::Master),
    ("PUT", "/1.2/rtm/conversations/c1", Needs::Master),
    ("DELETE", "/1.2/rtm/conversations/c1", Needs::Master),
    ("POST", "/1.2/rtm/conversations/c1/members", Needs::Master),
    ("DELETE", "/1.2/rtm/conversations/c1/members", Needs::Master),
    ("GET", "/1.2/rtm/conversations/c1/members", Needs::Master),
    ("POST", "/1.2/rtm/conversations/c1/mutes", Needs::Master),
    ("DELETE", "/1.2/rtm/conversations/c1/mutes", Needs::Master),
    ("GET", "/1.2/rtm/conversations/c1/mutes", Needs::Master),
    ("POST", "/1.2/rtm/conversations/c1/messages", Needs::Master),
    ("GET", "/1.2/rtm/conversations/c1/messages", Needs::Master),
    ("PUT", "/1.2/rtm/conversations/c1/messages/m1", Needs::Master),
    ("DELETE", "/1.2/rtm/conversations/c1/messages/m1", Needs::Master),
    (
        "PUT",
        "/1.2/rtm/conversations/c1/messages/m1/recall",
        Needs::Master,
    ),
    ("POST", "/1.2/rtm/conversations/c1/blacklists", Needs::Master),
    ("DELETE", "/1.2/rtm/conversations/c1/blacklists", Needs::Master),
    ("GET", "/1.2/rtm/conversations/c1/blacklists", Needs::Master),
    (
        "POST",
        "/1.2/rtm/conversations/c1/permanent-silenceds",
        Needs::Master,
    ),
    (
        "DELETE",
        "/1.2/rtm/conversations/c1/permanent-silenceds",
        Needs::Master,
    ),
    (
        "GET",
        "/1.2/rtm/conversations/c1/permanent-silenceds",
        Needs::Master,
    ),
    ("POST", "/1.2/rtm/conversations/c1/member-infos", Needs::Master),
    ("GET", "/1.2/rtm/conversations/c1/member-infos", Needs::Master),
    ("PUT", "/1.2/rtm/conversations/c1/member-infos/i1", Needs::Master),
    (
        "DELETE",
        "/1.2/rtm/conversations/c1/member-infos/i1",
        Needs::Master,
    ),
    (
        "POST",
        "/1.2/rtm/conversations/c1/temporary-silenceds",
        Needs::Master,
    ),
    (
        "DELETE",
        "/1.2/rtm/conversations/c1/temporary-silenceds?client_id=Tom",
        Needs::Master,
    ),
    ("POST", "/1.2/rtm/chatrooms/c1/temporary-silenceds", Needs::Master),
    (
        "DELETE",
        "/1.2/rtm/chatrooms/c1/temporary-silenceds?client_id=Tom",
        Needs::Master,
    ),
    (
        "GET",
        "/1.2/rtm/service-conversations/c1/subscribers",
        Needs::Master,
    ),
    ("GET", "/1.2/rtm/clients/Tom/service-conversations", Needs::Master),
    ("GET", "/1.2/rtm/stats", Needs::Master),
    ("POST", "/1.2/rtm/clients/Tom/blacklists", Needs::Master),
    ("DELETE", "/1.2/rtm/clients/Tom/blacklists", Needs::Master),
    ("GET", "/1.2/rtm/clients/Tom/blacklists", Needs::Master),
    ("GET", "/1.2/rtm/all-conversations", Needs::Master),
    ("POST", "/1.2/rtm/chatrooms", Needs::Master),
    ("GET", "/1.2/rtm/chatrooms", Needs::Master),
    ("PUT", "/1.2/rtm/chatrooms/c1", Needs::Master),
    ("DELETE", "/1.2/rtm/chatrooms/c1", Needs::Master),
    ("GET", "/1.2/rtm/chatrooms/c1/members", Needs::Master),
    ("GET", "/1.2/rtm/chatrooms/c1/members/online-count", Needs::Master),
    ("POST", "/1.2/rtm/chatrooms/c1/messages", Needs::Master),
    ("GET", "/1.2/rtm/chatrooms/c1/messages", Needs::Master),
    ("PUT", "/1.2/rtm/chatrooms/c1/messages/m1", Needs::Master),
    ("DELETE", "/1.2/rtm/chatrooms/c1/messages/m1", Needs::Master),
    ("PUT", "/1.2/rtm/chatrooms/c1/messages/m1/recall", Needs::Master),
    ("POST", "/1.2/rtm/chatrooms/c1/blacklists", Needs::Master),
    ("DELETE", "/1.2/rtm/chatrooms/c1/blacklists", Needs::Master),
    ("GET", "/1.2/rtm/chatrooms/c1/blacklists", Needs::Master),
    ("POST", "/1.2/rtm/chatrooms/c1/permanent-silenceds", Needs::Master),
    (
        "DELETE",
        "/1.2/rtm/chatrooms/c1/permanent-silenceds",
        Needs::Master,
    ),
    ("GET", "/1.2/rtm/chatrooms/c1/permanent-silenceds", Needs::Master),
    ("POST", "/1.2/rtm/service-conversations", Needs::Master),
    ("GET", "/1.2/rtm/service-conversations", Needs::Master),
    ("PUT", "/1.2/rtm/service-conversations/c1", Needs::Master),
    ("DELETE", "/1.2/rtm/service-conversations/c1", Needs::Master),
    (
        "POST",
        "/1.2/rtm/service-conversations/c1/subscribers",
        Needs::Master,
    ),
    (
        "GET",
        "/1.2/rtm/service-conversations/c1/subscribers/count",
        Needs::Master,
    ),
    (
        "DELETE",
        "/1.2/rtm/service-conversations/c1/subscribers/Tom",
        Needs::Master,
    ),
    (
        "GET",
        "/1.2/rtm/service-conversations/c1/subscribers/Tom/messages",
        Needs::Master,
    ),
    (
        "DELETE",
        "/1.2/rtm/service-conversations/c1/subscribers/Tom/messages/m1",
        Needs::Master,
    ),
    (
        "POST",
        "/1.2/rtm/service-conversations/c1/messages",
        Needs::Master,
    ),
    (
        "PUT",
        "/1.2/rtm/service-conversations/c1/messages/m1",
        Needs::Master,
    ),
    (
        "PUT",
        "/1.2/rtm/service-conversations/c1/messages/m1/recall",
        Needs::Master,
    ),
    (
        "POST",
        "/1.2/rtm/service-conversations/c1/broadcasts",
        Needs::Master,
    ),
    (
        "POST",
        "/1.2/rtm/service-conversations/c1/blacklists",
        Needs::Master,
    ),
    (
        "DELETE",
        "/1.2/rtm/service-conversations/c1/blacklists",
        Needs::Master,
    ),
    (
        "GET",
        "/1.2/rtm/service-conversations/c1/blacklists",
        Needs::Master,
    ),
    ("POST", "/1.2/rtm/clients/check-online", Needs::Master),
    ("POST", "/1.2/rtm/clients/Tom/kick", Needs::Master),
    ("GET", "/1.2/rtm/clients/Tom/unread-count", Needs::AppKey),
    ("GET", "/1.2/rtm/clients/Tom/messages", Needs::Master),
    ("GET", "/1.2/rtm/messages", Needs::Master),
    ("POST", "/1.2/rtm/broadcasts", Needs::Master),
    ("GET", "/1.2/rtm/broadcasts", Needs::Master),
    ("DELETE", "/1.2/rtm/broadcasts/m1", Needs::Master),
];

async fn start(master_key: Option<&str>) -> RunningServer {
    let mut config = ServerConfig::local("127.0.0.1:0".parse().expect("addr"));
    config.master_key = master_key.map(str::to_owned);
    Server::bind(config).await.expect("server starts")
}

async fn call(server: &RunningServer, method: &str, path: &str, headers: &[(&str, &str)]) -> http::Response {
    // A JSON body on writes, so that the request itself is never what is wrong.
    let body = (method != "GET").then(|| json!({}));
    http::request(server.local_addr(), method, path, headers, body.as_ref()).await
}

fn unauthorized(response: &http::Response) -> bool {
    response.status == 401 && response.json == json!({"code": 401, "error": "Unauthorized."})
}

#[tokio::test]
async fn every_rest_route_refuses_missing_wrong_and_insufficient_keys() {
    let server = start(Some(MASTER_KEY)).await;
    let wrong_master = ("X-LC-Key", "not-the-master,master");
    let master_as_app_key = ("X-LC-Key", MASTER_KEY);
    for &(method, path, needs) in ROUTES {
        let mut refused: Vec<Vec<(&str, &str)>> = vec![
            vec![],
            vec![KEY],
            vec![MASTER],
            vec![APP],
            vec![("X-LC-Id", "other-app"), KEY],
            vec![("X-LC-Id", "other-app"), MASTER],
            vec![APP, ("X-LC-Key", "wrong")],
            vec![APP, wrong_master],
            vec![APP, ("X-LC-Key", "chinwag-local-key,master")],
            vec![APP, master_as_app_key],
            vec![APP, ("X-LC-Sign", "0123,456")],
        ];
        if needs == Needs::Master {
            refused.push(vec![APP, KEY]);
        }
        for headers in refused {
            let response = call(&server, method, path, &headers).await;
            assert!(
                unauthorized(&response),
                "{method} {path} with {headers:?}: {response:?}"
            );
        }
        // The right keys get past authentication (whatever the sample ids then give).
        let accepted: &[(&str, &str)] = match needs {
            Needs::Master => &[APP, MASTER],
            Needs::AppKey => &[APP, KEY],
        };
        let response = call(&server, method, path, accepted).await;
        assert!(
            response.status != 401 || response.json["code"] == json!(4112),
            "{method} {path} with the right keys: {response:?}"
        );
        // Routed: the router's own 404/405 have no JSON body; a handler's 404 says what is missing.
        assert!(
            response.status != 405 && (response.status != 404 || response.json["code"].is_i64()),
            "{method} {path} is routed: {response:?}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn without_a_master_key_the_rest_api_1_2_refuses_every_call() {
    let server = start(None).await;
    for &(method, path, needs) in ROUTES {
        if needs == Needs::Master {
            for headers in [vec![APP, MASTER], vec![APP, KEY]] {
                let response = call(&server, method, path, &headers).await;
                assert!(
                    unauthorized(&response),
                    "{method} {path} with {headers:?}: {response:?}"
                );
            }
        }
    }
    server.shutdown().await;
}
