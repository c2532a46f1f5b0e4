//! `Client::stream_pool` and its blocking twin over real HTTP: items are handed out while the
//! body is still arriving, and failures surface as errors.

use futures_util::StreamExt;
use opennebula::xml::{Element, FromXml, XmlError, XmlReader};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[derive(Debug, PartialEq)]
struct VmId(i64);

impl FromXml for VmId {
    fn read_xml(reader: &mut XmlReader<'_>, start: &Element<'_>) -> Result<Self, XmlError> {
        let mut id = None;
        while let Some(child) = reader.next_child(start)? {
            if child.name() == b"ID" {
                let text = reader.read_text(&child)?;
                id = Some(text.parse().map_err(|_| reader.error("bad ID"))?);
            } else {
                reader.skip(&child)?;
            }
        }
        id.map(VmId).ok_or_else(|| reader.error("VM without ID"))
    }
}

fn vms(ids: std::ops::Range<i64>) -> String {
    ids.map(|id| {
        format!("<VM><ID>{id}</ID><NAME><![CDATA[vm-{id} <&>]]></NAME><TEMPLATE><X>1</X></TEMPLATE></VM>")
    })
    .collect()
}

fn escaped(doc: &str) -> String {
    opennebula::xml::escape(doc).into_owned()
}

fn escaped_pool(ids: std::ops::Range<i64>) -> String {
    escaped(&format!("<VM_POOL>{}</VM_POOL>", vms(ids)))
}

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n<param><value><array><data>\r\n<value><boolean>1</boolean></value>\r\n<value><string>";
const TAIL: &str = "</string></value>\r\n<value><i4>0</i4></value>\r\n</data></array></value></param>\r\n</params>\r\n</methodResponse>\r\n";

/// Serves one request with a chunked body: `parts` are written one after the other, each
/// waiting for its gate (if any) to open first.
async fn serve_once(parts: Vec<(String, Option<oneshot::Receiver<()>>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/RPC2", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.ends_with(b"</methodCall>\n") {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                return;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        socket.write_all(head.as_bytes()).await.unwrap();
        for (part, gate) in parts {
            if let Some(gate) = gate {
                if gate.await.is_err() {
                    return;
                }
            }
            let chunk = format!("{:x}\r\n{part}\r\n", part.len());
            if socket.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
            socket.flush().await.unwrap();
        }
        let _ = socket.write_all(b"0\r\n\r\n").await;
    });
    url
}

#[tokio::test]
async fn items_arrive_before_the_body_ends() {
    let (open, gate) = oneshot::channel();
    let url = serve_once(vec![
        (
            format!("{HEAD}{}", escaped(&format!("<VM_POOL>{}", vms(0..3)))),
            None,
        ),
        (
            format!("{}{TAIL}", escaped(&format!("{}</VM_POOL>", vms(3..5)))),
            Some(gate),
        ),
    ])
    .await;
    let client = opennebula::Client::new(url, "oneadmin:pw").unwrap();
    let mut items = client.stream_pool::<VmId>("vmpool.info", (-2, -1, -1, -1));
    // The first VMs are decoded while the server still holds back the rest of the body: the
    // gate only opens after we have them.
    for id in 0..3 {
        assert_eq!(items.next().await.unwrap().unwrap(), VmId(id));
    }
    open.send(()).unwrap();
    let mut rest = Vec::new();
    while let Some(item) = items.next().await {
        rest.push(item.unwrap());
    }
    assert_eq!(rest, vec![VmId(3), VmId(4)]);
}

#[tokio::test]
async fn whole_pool_in_many_chunks() {
    let body = format!("{HEAD}{}{TAIL}", escaped_pool(0..500));
    let parts = body
        .as_bytes()
        .chunks(997)
        .map(|c| (String::from_utf8_lossy(c).into_owned(), None))
        .collect::<Vec<_>>();
    // Chunks are cut at byte offsets; the body is ASCII so none splits a character.
    let url = serve_once(parts).await;
    let client = opennebula::Client::new(url, "oneadmin:pw").unwrap();
    let ids: Vec<i64> = client
        .stream_pool::<VmId>("vmpool.info", (-2, -1, -1, -1))
        .map(|item| item.unwrap().0)
        .collect()
        .await;
    assert_eq!(ids, (0..500).collect::<Vec<_>>());
}

#[tokio::test]
async fn failed_call_yields_the_opennebula_error() {
    let failure = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n<param><value><array><data>\r\n<value><boolean>0</boolean></value>\r\n<value><string>[one.vmpool.info] User couldn't be authenticated, aborting call.</string></value>\r\n<value><i4>256</i4></value>\r\n<value><i4>-1</i4></value>\r\n<value><i8>-1</i8></value>\r\n</data></array></value></param>\r\n</params>\r\n</methodResponse>\r\n";
    let url = serve_once(vec![(failure.to_string(), None)]).await;
    let client = opennebula::Client::new(url, "oneadmin:bad").unwrap();
    let results: Vec<_> = client
        .stream_pool::<VmId>("vmpool.info", (-2, -1, -1, -1))
        .collect()
        .await;
    assert_eq!(results.len(), 1);
    let err = results.into_iter().next().unwrap().unwrap_err();
    assert_eq!(
        err.one_error().map(|e| e.code),
        Some(opennebula::ErrorCode::Authentication)
    );
}

#[tokio::test]
async fn connection_refused_is_one_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/RPC2", listener.local_addr().unwrap());
    drop(listener);
    let client = opennebula::Client::new(url, "oneadmin:pw").unwrap();
    let results: Vec<_> = client
        .stream_pool::<VmId>("vmpool.info", (-2, -1, -1, -1))
        .collect()
        .await;
    assert!(matches!(results.as_slice(), [Err(_)]), "{results:?}");
}

#[cfg(feature = "blocking")]
#[test]
fn blocking_iterator_streams_too() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let body = format!("{HEAD}{}{TAIL}", escaped_pool(0..200));
    let parts = body
        .as_bytes()
        .chunks(333)
        .map(|c| (String::from_utf8_lossy(c).into_owned(), None))
        .collect::<Vec<_>>();
    let url = runtime.block_on(serve_once(parts));
    let client = opennebula::blocking::Client::new(url, "oneadmin:pw").unwrap();
    let ids: Vec<i64> = client
        .stream_pool::<VmId>("vmpool.info", (-2, -1, -1, -1))
        .map(|item| item.unwrap().0)
        .collect();
    assert_eq!(ids, (0..200).collect::<Vec<_>>());
    drop(runtime);
}
