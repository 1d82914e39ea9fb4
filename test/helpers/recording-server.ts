// A local HTTP server scripted to answer each request as a test says (an API Gateway that does
// or does not do as configured, a service that is not ready yet), keeping every request it was
// asked, in order.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Asked {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface RecordingServer {
  url: string;
  asked: Asked[];
  close(): Promise<void>;
}

export async function recordingServer(answer: (req: Asked) => Answer): Promise<RecordingServer> {
  const asked: Asked[] = [];
  const server = http.createServer((req, res) => {
    const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    asked.push(request);
    const { status, headers, body } = answer(request);
    res.writeHead(status, headers).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    asked,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
