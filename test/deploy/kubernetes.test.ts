// deploy/kubernetes/: each core resource validates against Kubernetes' own OpenAPI schemas
// (kubernetes-models: types, required fields, enums; it does not catch unknown fields), and the
// files agree with each other and with the server: the container's args are flags `xllm serve`
// accepts, the probes are its /health and /ready, selectors match the pods' labels, the grace
// period covers the drain, and the HPA's metric is the one the adapter rule makes of ours.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { parseServeArgs } from '../../server/config.ts';

const DIR = join(import.meta.dirname, '..', '..', 'deploy', 'kubernetes');
const docs = Object.fromEntries(readdirSync(DIR).map((file) => [file, parse(readFileSync(join(DIR, file), 'utf8'))]));

test('every manifest is a resource of a known kind that validates against its schema', async () => {
  // kubernetes-models is ESM only, and uvu loads tests as CommonJS: imported at run time.
  const { Deployment } = await import('kubernetes-models/apps/v1');
  const { HorizontalPodAutoscaler } = await import('kubernetes-models/autoscaling/v2');
  const { PodDisruptionBudget } = await import('kubernetes-models/policy/v1');
  const { ConfigMap, Service } = await import('kubernetes-models/v1');
  const kinds: Record<string, new (data: never) => { validate(): void }> = {
    'apps/v1 Deployment': Deployment,
    'v1 Service': Service,
    'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
    'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
    'v1 ConfigMap': ConfigMap,
  };
  for (const [file, doc] of Object.entries(docs)) {
    const kind = `${doc.apiVersion} ${doc.kind}`;
    if (kind === 'inference.networking.k8s.io/v1 InferencePool') continue; // a CRD: checked below
    const Model = kinds[kind];
    assert.ok(Model, `${file}: ${kind} is one of ${Object.keys(kinds).join(', ')}`);
    new Model!(doc as never).validate();
  }
  // The validator does reject what the schema forbids.
  const broken = structuredClone(docs['deployment.yaml']);
  broken.spec.template.spec.containers[0].ports[0].containerPort = 'eight thousand';
  assert.throws(() => new Deployment(broken).validate(), /containerPort must be integer/);
});

test('the Deployment runs xllm serve with flags it accepts, probes its /health and /ready, and drains within the grace period', () => {
  const pod = docs['deployment.yaml'].spec.template;
  const container = pod.spec.containers[0];
  const parsed = parseServeArgs(container.args);
  assert.is(parsed.action, 'serve');
  const config = parsed.action === 'serve' ? parsed.config : undefined;
  assert.equal([config?.model, config?.servedModelNames, config?.maxBatchSize], ['/models/model', ['Qwen2-7B-Instruct'], 8]);
  assert.is(container.ports[0].containerPort, 8000, 'the image serves on 8000 (deploy/Dockerfile)');
  assert.match(readFileSync(join(DIR, '..', 'Dockerfile'), 'utf8'), /"--port", "8000"/);
  assert.equal([container.startupProbe.httpGet.path, container.livenessProbe.httpGet.path, container.readinessProbe.httpGet.path], ['/health', '/health', '/ready']);
  const preStop = Number(container.lifecycle.preStop.exec.command[1]);
  assert.ok(pod.spec.terminationGracePeriodSeconds >= preStop + config!.shutdownTimeoutSeconds + 5, 'the grace period covers the pause, the drain and a margin');
  assert.is(container.env.find((e: { name: string }) => e.name === 'XLLM_CACHE_DIR').value, '/cache');
  assert.ok(container.volumeMounts.some((m: { mountPath: string }) => m.mountPath === '/cache'), 'converted checkpoints go to a writable volume');
});

test('the Service, PodDisruptionBudget and InferencePool select the Deployment\'s pods; the HPA scales it on the adapter\'s metric', () => {
  const labels = docs['deployment.yaml'].spec.template.metadata.labels;
  assert.equal(docs['service.yaml'].spec.selector, labels);
  assert.equal(docs['pdb.yaml'].spec.selector.matchLabels, labels);
  const pool = docs['inferencepool.yaml'];
  assert.equal(pool.spec.selector.matchLabels, labels);
  assert.equal(pool.spec.targetPorts, [{ number: 8000 }]);
  const hpa = docs['hpa.yaml'];
  assert.equal([hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name], ['Deployment', docs['deployment.yaml'].metadata.name]);
  const rule = parse(docs['prometheus-adapter.yaml'].data['config.yaml']).rules[0];
  assert.is(hpa.spec.metrics[0].pods.metric.name, rule.name.as);
  assert.ok(rule.seriesQuery.startsWith('vllm:num_requests_waiting{'), 'the adapter reads the series xllm-ts exports (server/metrics.ts)');
  assert.match(readFileSync(join(import.meta.dirname, '..', '..', 'server', 'metrics.ts'), 'utf8'), /'vllm:num_requests_waiting'/);
});

test.run();
