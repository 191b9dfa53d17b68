//! One signed exchange with the server over TCP (RFC 7766): a request with its TSIG record, every
//! response message verified against the key. A zone transfer answers with several messages, ended by
//! the zone's SOA a second time.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::dnssec::tsig::TSigner;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
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
        let unreachable = |reason: String| WireError::Unreachable { server: self.address, reason };
        let run = async {
            let mut stream = TcpStream::connect(self.address).await.map_err(|e| unreachable(e.to_string()))?;
            let length = u16::try_from(bytes.len()).map_err(|_| WireError::Invalid("request too large".into()))?;
            stream.write_all(&length.to_be_bytes()).await.map_err(|e| unreachable(e.to_string()))?;
            stream.write_all(&bytes).await.map_err(|e| unreachable(e.to_string()))?;
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
                // RFC 8945 §5.3.1: every message of a transfer is signed (or at least every 100th);
                // BIND and Knot sign each one.
                verify(&buffer).map_err(|e| WireError::Invalid(format!("the answer's signature: {e}")))?;
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
}
