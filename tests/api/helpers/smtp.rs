//! A real SMTP server for tests, on 127.0.0.1:0: it speaks enough RFC 5321 for lettre (greeting,
//! EHLO/HELO, AUTH PLAIN, MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP, QUIT),
//! records what it accepts, and answers each DATA with the next code of a script (4xx and 5xx
//! prove retries and permanent failures), 250 once the script is used up.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::ReadMail;

/// One message the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope sender (MAIL FROM), without the angle brackets.
    pub from: String,
    /// The envelope recipients (RCPT TO).
    pub to: Vec<String>,
    /// The message as sent after DATA, dot-unstuffed, CRLF line ends.
    pub data: Vec<u8>,
    /// The user name and password of AUTH PLAIN on that connection, if any.
    pub auth: Option<(String, String)>,
}

impl Received {
    pub fn mail(&self) -> ReadMail {
        ReadMail::parse(&self.data)
    }
}

#[derive(Default)]
struct State {
    replies: VecDeque<u16>,
    received: Vec<Received>,
    /// Messages that reached the end of DATA, accepted or not.
    transactions: usize,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl SmtpSink {
    /// A server that accepts every message.
    pub async fn start() -> SmtpSink {
        SmtpSink::with_replies(&[]).await
    }

    /// A server that answers the end of the first DATA with `replies[0]`, the second with
    /// `replies[1]`… (e.g. `[451]`: try again later, then accept; `[550]`: rejected for good).
    pub async fn with_replies(replies: &[u16]) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            replies: replies.iter().copied().collect(),
            ..State::default()
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    // A client that goes away mid-conversation is not the sink's failure.
                    let _ = converse(stream, state).await;
                });
            }
        });
        SmtpSink { addr, state }
    }

    /// `smtp://127.0.0.1:<port>`, for `GUICHET_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// The accepted messages, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// How many messages reached the end of DATA, accepted or refused.
    pub fn transactions(&self) -> usize {
        self.state.lock().unwrap().transactions
    }

    /// Waits (up to 10 s) until `n` messages have been accepted, and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the SMTP sink got {} messages, expected {n}",
            self.received().len()
        );
    }
}

/// The address inside `MAIL FROM:<a@b> …` or `RCPT TO:<a@b>`.
fn angle_address(arg: &str) -> String {
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg[start..].find('>').map_or(arg.len(), |i| start + i);
    arg[start..end].to_owned()
}

async fn converse(stream: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ESMTP test server\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut auth = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
        let upper = text.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink\r\n250-8BITMIME\r\n250 AUTH PLAIN\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sink\r\n"
        } else if upper.starts_with("AUTH PLAIN") {
            let encoded = text["AUTH PLAIN".len()..].trim();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap_or_default();
            let parts: Vec<String> = decoded
                .split(|b| *b == 0)
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            if parts.len() == 3 {
                auth = Some((parts[1].clone(), parts[2].clone()));
                b"235 2.7.0 Authentication successful\r\n"
            } else {
                b"535 5.7.8 Authentication credentials invalid\r\n"
            }
        } else if upper.starts_with("MAIL FROM:") {
            from = angle_address(&text["MAIL FROM:".len()..]);
            to.clear();
            b"250 2.1.0 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(angle_address(&text["RCPT TO:".len()..]));
            b"250 2.1.5 OK\r\n"
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = Vec::new();
            loop {
                line.clear();
                if lines.read_until(b'\n', &mut line).await? == 0 {
                    return Ok(());
                }
                if line == b".\r\n" || line == b".\n" {
                    break;
                }
                // RFC 5321 §4.5.2: a leading dot was doubled by the client.
                let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
                data.extend_from_slice(unstuffed);
            }
            let code = {
                let mut s = state.lock().unwrap();
                s.transactions += 1;
                let code = s.replies.pop_front().unwrap_or(250);
                if code == 250 {
                    s.received.push(Received {
                        from: from.clone(),
                        to: to.clone(),
                        data,
                        auth: auth.clone(),
                    });
                }
                code
            };
            match code {
                250 => b"250 2.0.0 OK queued\r\n",
                400..=499 => b"451 4.3.0 Try again later\r\n",
                _ => b"550 5.7.1 Message rejected\r\n",
            }
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 2.0.0 OK\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 5.5.2 Command not recognized\r\n"
        };
        write.write_all(reply).await?;
    }
}
