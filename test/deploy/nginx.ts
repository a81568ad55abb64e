// Debian's nginx on loopback, running deploy/nginx/xllm.conf as shipped in front of replicas on
// given ports: for test/deploy/nginx-replicas.test.ts and bench/replicas.ts.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NGINX = '/usr/sbin/nginx';
const SHIPPED_CONF = join(import.meta.dirname, '..', '..', 'deploy', 'nginx', 'xllm.conf');

export const nginxInstalled = () => existsSync(NGINX);

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Nginx {
  url: string;
  /** nginx's access log so far: status, the upstream(s) tried and their statuses, a line each. */
  accessLog(): string[];
  stop(): Promise<void>;
}

/**
 * @param affinity keep the shipped consistent hash on X-Session-Id; false drops it, leaving
 *   nginx's default round-robin (the comparison for prefix-cache hit rates)
 */
export async function startNginx(replicaPorts: number[], options: { affinity: boolean } = { affinity: true }): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'xllm-nginx-'));
  chmodSync(dir, 0o777); // nginx's workers run as nobody when the master runs as root
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const listen = await freePort();
  const shipped = readFileSync(SHIPPED_CONF, 'utf8');
  const servers = shipped.match(/^\s*server 127\.0\.0\.1:\d+ .*$/gm) ?? [];
  if (servers.length !== replicaPorts.length) throw new Error(`deploy/nginx/xllm.conf lists ${servers.length} replicas, not ${replicaPorts.length}`);
  let k = 0;
  let site = shipped.replace(/127\.0\.0\.1:\d+/g, () => `127.0.0.1:${replicaPorts[k++]}`).replace(/listen \d+;/, `listen 127.0.0.1:${listen};`);
  if (!options.affinity) site = site.replace(/^\s*hash .*;$/m, '');
  writeFileSync(join(dir, 'xllm.conf'), site);
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  log_format upstreams '$status "$upstream_addr" "$upstream_status"';
  access_log ${dir}/access.log upstreams;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/xllm.conf;
}
`,
  );
  const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const url = `http://127.0.0.1:${listen}`;
  for (let tries = 0; !(await fetch(`${url}/health`).then((r) => r.ok, () => false)); tries++) {
    if (tries > 100) throw new Error('nginx did not come up');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    accessLog: () => readFileSync(join(dir, 'access.log'), 'utf8').trim().split('\n'),
    async stop() {
      child.kill('SIGQUIT');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
