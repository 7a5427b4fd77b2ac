/**
 * A minimal SMTP server for the end-to-end test: it accepts every message and keeps it in memory,
 * standing in for the relay the containers' send-only postfix hands alerts to. Listens only on
 * the address given (the LXD bridge's own address).
 */
import * as net from "node:net";

export interface ReceivedMail {
  readonly peer: string;
  readonly mailFrom: string;
  readonly rcptTo: string[];
  readonly data: string;
}

export interface SmtpSink {
  readonly messages: ReceivedMail[];
  /** The first message from index `from` on that matches, waiting up to `timeoutMs`. */
  waitFor(match: (m: ReceivedMail) => boolean, timeoutMs: number, from?: number): Promise<ReceivedMail | undefined>;
  close(): Promise<void>;
}

const address = (arg: string) => /<([^>]*)>/.exec(arg)?.[1] ?? arg.trim();

export function startSmtpSink(host: string, port: number): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const server = net.createServer((socket) => {
    socket.setEncoding("utf8");
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    let buffer = "";
    let inData = false;
    let data: string[] = [];
    let mailFrom = "";
    let rcptTo: string[] = [];
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply("220 dhis2-e2e-smtp-sink ESMTP");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      let i: number;
      while ((i = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            messages.push({ peer, mailFrom, rcptTo, data: data.join("\n") });
            data = [];
            reply("250 2.0.0 queued");
          } else data.push(line.startsWith("..") ? line.slice(1) : line);
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        const arg = line.slice(line.indexOf(":") + 1);
        if (verb === "EHLO") reply("250-dhis2-e2e-smtp-sink\r\n250-8BITMIME\r\n250 SIZE 10240000");
        else if (verb === "HELO") reply("250 dhis2-e2e-smtp-sink");
        else if (verb === "MAIL") { mailFrom = address(arg.split(" ")[0] ?? arg); rcptTo = []; reply("250 2.1.0 ok"); }
        else if (verb === "RCPT") { rcptTo.push(address(arg)); reply("250 2.1.5 ok"); }
        else if (verb === "DATA") { inData = true; reply("354 end with <CRLF>.<CRLF>"); }
        else if (verb === "RSET") { mailFrom = ""; rcptTo = []; reply("250 ok"); }
        else if (verb === "NOOP") reply("250 ok");
        else if (verb === "QUIT") { reply("221 bye"); socket.end(); }
        else reply("502 5.5.2 not implemented");
      }
    });
    socket.on("error", () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      resolve({
        messages,
        async waitFor(match, timeoutMs, from = 0) {
          const until = Date.now() + timeoutMs;
          while (Date.now() < until) {
            const m = messages.slice(from).find(match);
            if (m) return m;
            await new Promise((r) => setTimeout(r, 500));
          }
          return undefined;
        },
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}
