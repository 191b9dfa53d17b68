//! One signed exchange with the server over TCP (RFC 7766): a request with its TSIG record, every
//! response message verified against the key. A zone transfer answers with several messages, ended by
//! the zone's SOA a second time.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::dnssec::tsig::TSigner;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::BinEncodable;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::settings::Key;

/// How long one exchange may take, connection included.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// TSIG's allowed clock difference (RFC 8945 recommends 300 s).
const FUDGE: u16 = 300;

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    /// No connection, a timeout, or a broken stream.
    #[error("{server}: {reason}")]
    Unreachable { server: SocketAddr, reason: String },
    /// The server answered an error code.
    #[error("the server answered {code}")]
    Refused { code: ResponseCode },
    /// The answer was not signed with the key, or not a DNS message.
    #[error("{0}")]
    Invalid(String),
}

/// The server and the key that signs every request.
pub(crate) struct Server {
    pub address: SocketAddr,
    signer: TSigner,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("address", &self.address).finish_non_exhaustive()
    }
}

impl Server {
    pub fn new(address: SocketAddr, key: Key) -> Result<Self, String> {
        let name = Name::from_ascii(format!("{}.", key.name)).map_err(|e| format!("not a DNS name: {e}"))?;
        let signer = TSigner::new(key.secret, key.algorithm, name, FUDGE).map_err(|e| e.to_string())?;
        Ok(Self { address, signer })
    }

    /// Sends `request` signed and returns every answer message, each verified. A transfer
    /// (`AXFR`) reads until the closing SOA; anything else reads one message.
    pub async fn exchange(&self, mut request: Message) -> Result<Vec<Message>, WireError> {
        let transfer = request.queries().first().is_some_and(|q| q.query_type() == RecordType::AXFR);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        let mut verify = request
            .finalize(&self.signer, u32::try_from(now).unwrap_or(u32::MAX))
            .map_err(|e| WireError::Invalid(e.to_string()))?
            .ok_or_else(|| WireError::Invalid("the request was not signed".into()))?;
        let bytes = request.to_bytes().map_err(|e| WireError::Invalid(e.to_string()))?;
        // RFC 8945 §5.3.1: every message of a transfer is signed (or at least every 100th); BIND and
        // Knot sign each one.
        let verified = |buffer: &[u8]| match verify(buffer) {
            Ok(_) => Ok(()),
            Err(e) => Err(WireError::Invalid(format!("the answer's signature: {e}"))),
        };
        framed(self.address, &bytes, transfer, verified).await
    }
}

/// A query for `name`'s `record_type` records (class IN).
pub(crate) fn query(name: Name, record_type: RecordType) -> Message {
    let mut request = Message::new();
    request.set_id(message_id()).set_message_type(MessageType::Query).set_op_code(OpCode::Query);
    request.add_query(Query::query(name, record_type));
    request
}

/// A message id; a transfer and an update are never in flight on one connection twice, so it only has
/// to differ from a stale answer's.
pub(crate) fn message_id() -> u16 {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or_default();
    (nanos % u32::from(u16::MAX)) as u16
}

/// The serial of `zone`'s SOA at `address`, asked without a signature (a secondary need not know the
/// key).
pub(crate) async fn serial(address: SocketAddr, zone: Name) -> Result<u32, WireError> {
    let bytes = query(zone, RecordType::SOA).to_bytes().map_err(|e| WireError::Invalid(e.to_string()))?;
    let answers = framed(address, &bytes, false, |_| Ok(())).await?;
    soa_serial(&answers)
        .ok_or_else(|| WireError::Invalid(format!("{address} answered no SOA: it does not serve the zone")))
}

/// The serial of the first SOA among `answers`.
pub(crate) fn soa_serial(answers: &[Message]) -> Option<u32> {
    answers.iter().flat_map(Message::answers).find_map(|r| match r.data() {
        RData::SOA(soa) => Some(soa.serial()),
        _ => None,
    })
}

/// Sends `bytes` to `address` over TCP (RFC 7766) and reads the answer: one message, or for a
/// transfer every message until the closing SOA; each checked by `verify`.
async fn framed(
    address: SocketAddr,
    bytes: &[u8],
    transfer: bool,
    mut verify: impl FnMut(&[u8]) -> Result<(), WireError>,
) -> Result<Vec<Message>, WireError> {
    let unreachable = |reason: String| WireError::Unreachable { server: address, reason };
    let run = async {
        let mut stream = TcpStream::connect(address).await.map_err(|e| unreachable(e.to_string()))?;
        let length = u16::try_from(bytes.len()).map_err(|_| WireError::Invalid("request too large".into()))?;
        stream.write_all(&length.to_be_bytes()).await.map_err(|e| unreachable(e.to_string()))?;
        stream.write_all(bytes).await.map_err(|e| unreachable(e.to_string()))?;
        let mut answers = Vec::new();
        let mut soas = 0;
        loop {
            let mut length = [0u8; 2];
            stream.read_exact(&mut length).await.map_err(|e| unreachable(e.to_string()))?;
            let mut buffer = vec![0u8; usize::from(u16::from_be_bytes(length))];
            stream.read_exact(&mut buffer).await.map_err(|e| unreachable(e.to_string()))?;
            let message = Message::from_vec(&buffer).map_err(|e| WireError::Invalid(e.to_string()))?;
            if message.response_code() != ResponseCode::NoError {
                return Err(WireError::Refused { code: message.response_code() });
            }
            verify(&buffer)?;
            soas += message.answers().iter().filter(|r| r.record_type() == RecordType::SOA).count();
            answers.push(message);
            if !transfer || soas >= 2 {
                return Ok(answers);
            }
        }
    };
    tokio::time::timeout(EXCHANGE_TIMEOUT, run)
        .await
        .map_err(|_| unreachable(format!("no answer within {} s", EXCHANGE_TIMEOUT.as_secs())))?
}
