// nginx as the reference proxy hop: run from a generated configuration in a temporary prefix,
// in the foreground, as one process (no master), on 127.0.0.1 only, never as a system service.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { hasCommand } from './proc.ts';

export function nginxInstalled(): boolean {
  return hasCommand('nginx', ['-v']);
}

export function nginxConfig(prefix: string, listenPort: number, upstreamPorts: number[]): string {
  const upstreams = upstreamPorts.map((port) => `    server 127.0.0.1:${port};`).join('\n');
  const tmp = (name: string) => path.join(prefix, name);
  // One worker on the pinned core, like one Node process; access_log off because the
  // services' own request logs go to /dev/null in this benchmark as well.
  return `daemon off;
master_process off;
worker_processes 1;
pid ${tmp('nginx.pid')};
error_log ${tmp('error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${tmp('client_body')};
  proxy_temp_path ${tmp('proxy')};
  fastcgi_temp_path ${tmp('fastcgi')};
  uwsgi_temp_path ${tmp('uwsgi')};
  scgi_temp_path ${tmp('scgi')};
  upstream service {
${upstreams}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${listenPort};
    location / {
      proxy_pass http://service;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }
  }
}
`;
}

/** Writes the configuration; returns nginx's arguments. */
export function prepareNginx(
  prefix: string,
  listenPort: number,
  upstreamPorts: number[],
): string[] {
  const file = path.join(prefix, 'nginx.conf');
  writeFileSync(file, nginxConfig(prefix, listenPort, upstreamPorts));
  // -e: the error log before the configuration is read, which defaults to /var/log/nginx.
  return ['-p', prefix, '-c', file, '-e', path.join(prefix, 'error.log')];
}
