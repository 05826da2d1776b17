// CI checks of deploy/ that need no cluster: the kustomize base and overlays
// render (with scripts/render-k8s.mjs: no kustomize binary can be had here),
// every object validates against the Kubernetes schemas (kubernetes-models),
// the wiring holds (selectors, ports, probes, budgets, the HPA's metric), every
// flag and environment variable a manifest gives a service is one its
// `--help` lists, and the Dockerfile's stages run in clean folders the way the
// image build would (see the Dockerfile test for what cannot run without docker).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { renderKustomization, type K8sObject } from '../../scripts/render-k8s.mjs';
import { startNats } from '../helpers/nats.js';
import { healthCheck } from '../helpers/grpc-standard.js';
import { CLI } from '../helpers/service-process.js';
import { spawnService } from '../helpers/service-process.js';
import { eventually } from './mesh-fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const K8S = join(ROOT, 'deploy', 'k8s');
const OVERLAYS = ['cpu', 'gpu'] as const;

const MODELS: Record<string, new (o: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Service': Service,
};

type EnvVar = { name: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } } };
type Container = { name: string; image: string; args?: string[]; env?: EnvVar[]; envFrom?: Array<{ configMapRef?: { name: string } }>; ports?: Array<{ name?: string; containerPort: number }>; [k: string]: unknown };
type PodSpec = { containers: Container[]; nodeSelector?: Record<string, string> };
const podSpec = (o: K8sObject) => (o as unknown as { spec: { template: { spec: PodSpec; metadata: { labels: Record<string, string> } } } }).spec.template;
const workloads = (objs: K8sObject[]) => objs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
const find = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} in the render`);
  return o;
};
const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

const rendered = Object.fromEntries(OVERLAYS.map((o) => [o, renderKustomization(join(K8S, 'overlays', o))])) as Record<(typeof OVERLAYS)[number], K8sObject[]>;

describe('deploy/k8s renders and validates', () => {
  it.each(['base', ...OVERLAYS])('%s renders, and every object validates against the Kubernetes schema', (name) => {
    const objs = name === 'base' ? renderKustomization(join(K8S, 'base')) : rendered[name as 'cpu'];
    expect(objs.length).toBeGreaterThan(15);
    for (const o of objs) {
      const model = MODELS[`${o.apiVersion}/${o.kind}`];
      if (!model) throw new Error(`${o.kind}/${o.metadata.name}: no schema for ${o.apiVersion} ${o.kind} (add it to the test)`);
      expect(() => new model(o as never).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
    }
  });

  it('a schema violation is caught (the validator is not a no-op)', () => {
    const bad = structuredClone(find(rendered.cpu, 'Deployment', 'inference')) as unknown as { spec: { replicas: unknown } };
    bad.spec.replicas = 'three';
    expect(() => new Deployment(bad as never).validate()).toThrow(/replicas must be integer/);
  });

  it.each(OVERLAYS)('%s: everything is in the infermesh namespace, with the image the overlay names', (overlay) => {
    for (const o of rendered[overlay]) {
      if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('infermesh');
      expect(o.metadata.labels?.['app.kubernetes.io/part-of']).toBe('infermesh');
    }
    for (const w of workloads(rendered[overlay]).filter((w) => w.metadata.name !== 'nats')) {
      expect(podSpec(w).spec.containers[0]!.image).toBe(overlay === 'gpu' ? 'ghcr.io/infermesh/infermesh:0.1.0-cuda12' : 'ghcr.io/infermesh/infermesh:0.1.0');
    }
  });

  it('every Service selects a workload and targets ports its containers name; every workload has a budget selecting it', () => {
    const objs = rendered.cpu;
    for (const svc of objs.filter((o) => o.kind === 'Service')) {
      const spec = (svc as unknown as { spec: { selector: Record<string, string>; ports: Array<{ targetPort: number | string }> } }).spec;
      const target = workloads(objs).find((w) => matches(spec.selector, podSpec(w).metadata.labels));
      expect(target, `Service ${svc.metadata.name}`).toBeDefined();
      const ports = podSpec(target!).spec.containers.flatMap((c) => c.ports ?? []);
      for (const p of spec.ports) expect(ports.some((q) => q.name === p.targetPort || q.containerPort === p.targetPort), `${svc.metadata.name} -> ${p.targetPort}`).toBe(true);
    }
    for (const w of workloads(objs)) {
      const pdb = objs.find((o) => o.kind === 'PodDisruptionBudget' && matches((o as unknown as { spec: { selector: { matchLabels: Record<string, string> } } }).spec.selector.matchLabels, podSpec(w).metadata.labels));
      expect(pdb, `a PodDisruptionBudget for ${w.metadata.name}`).toBeDefined();
    }
  });

  it('infermesh containers: gRPC readiness and liveness probes on their gRPC port, requests and limits, non-root', () => {
    for (const w of workloads(rendered.cpu).filter((w) => w.metadata.name !== 'nats')) {
      const c = podSpec(w).spec.containers[0] as Container & { readinessProbe: { grpc: { port: number } }; livenessProbe: { grpc: { port: number } }; resources: { requests: object; limits: object } };
      const grpcPort = c.ports!.find((p) => p.name === 'grpc' || p.name === 'otlp')!.containerPort;
      expect(c.readinessProbe.grpc.port, w.metadata.name).toBe(grpcPort);
      expect(c.livenessProbe.grpc.port, w.metadata.name).toBe(grpcPort);
      expect(Object.keys(c.resources.requests)).toEqual(expect.arrayContaining(['cpu', 'memory']));
      expect(Object.keys(c.resources.limits)).toContain('memory');
      expect((podSpec(w).spec as unknown as { securityContext: { runAsNonRoot: boolean } }).securityContext.runAsNonRoot).toBe(true);
    }
  });

  it('the inference node: id from the pod name, advertised pod IP; the HPA scales it on a metric the node exports', () => {
    const node = podSpec(find(rendered.cpu, 'Deployment', 'inference')).spec.containers[0]! as Container & { env: EnvVar[] };
    expect(node.env.find((e) => e.name === 'INFERMESH_NODE_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(node.env.find((e) => e.name === 'INFERMESH_HOST')?.valueFrom?.fieldRef?.fieldPath).toBe('status.podIP');
    const hpa = find(rendered.cpu, 'HorizontalPodAutoscaler', 'inference') as unknown as { spec: { scaleTargetRef: { kind: string; name: string }; metrics: Array<{ pods: { metric: { name: string } } }> } };
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'inference' });
    const metric = hpa.spec.metrics[0]!.pods.metric.name;
    expect(readFileSync(join(ROOT, 'shared', 'telemetry', 'metric-names.ts'), 'utf8')).toContain(`name: '${metric}'`);
    expect(readFileSync(join(K8S, 'prometheus-adapter-rules.yaml'), 'utf8')).toContain(`as: "${metric}"`);
  });

  it('the GPU overlay asks for nvidia.com/gpu on GPU machines and puts sessions on cuda:0; the CPU one does not', () => {
    const gpu = podSpec(find(rendered.gpu, 'Deployment', 'inference')).spec;
    const c = gpu.containers[0] as Container & { resources: { limits: Record<string, string>; requests: Record<string, string> } };
    expect(c.resources.limits['nvidia.com/gpu']).toBe('1');
    expect(gpu.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(c.args).toContain('--instances=cuda:0');
    const cpu = podSpec(find(rendered.cpu, 'Deployment', 'inference')).spec;
    expect(JSON.stringify(cpu)).not.toMatch(/nvidia|cuda/);
  });

  it('NATS: a three-member JetStream StatefulSet with file storage whose routes name every member', () => {
    const sts = find(rendered.cpu, 'StatefulSet', 'nats') as unknown as { spec: { replicas: number; serviceName: string; volumeClaimTemplates: unknown[] } };
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
    const conf = (find(rendered.cpu, 'ConfigMap', 'nats-config') as unknown as { data: Record<string, string> }).data['nats.conf']!;
    expect(conf).toMatch(/jetstream \{[^}]*store_dir: \/data\/jetstream/);
    const routes = [...conf.matchAll(/nats:\/\/(nats-\d)\.([\w-]+):6222/g)];
    expect(routes.map((r) => r[1])).toEqual(['nats-0', 'nats-1', 'nats-2']);
    expect(new Set(routes.map((r) => r[2]))).toEqual(new Set([sts.spec.serviceName]));
    find(rendered.cpu, 'Service', sts.spec.serviceName);
  });

  it('the registry reads its PostgreSQL URL from a Secret', () => {
    const c = podSpec(find(rendered.cpu, 'Deployment', 'registry')).spec.containers[0]! as Container & { env: EnvVar[] };
    expect(c.env.find((e) => e.name === 'INFERMESH_DATABASE')?.valueFrom?.secretKeyRef).toEqual({ name: 'infermesh-registry-db', key: 'url' });
  });
});

/** The flags (`--x`) and environment variables (`(env: X)`) that `infermesh <command> --help` lists. */
function helpOf(command: string): { flags: Set<string>; env: Set<string> } {
  const text = execFileSync(process.execPath, [CLI, command, '--help'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
  return { flags: new Set([...text.matchAll(/(?:^|[\s,])(--[a-z0-9][a-z0-9-]*)/g)].map((m) => m[1]!)), env: new Set([...text.matchAll(/env: ([A-Z0-9_]+)\)/g)].map((m) => m[1]!)) };
}

describe('every flag and variable a manifest passes is one the service accepts', () => {
  const configMaps = new Map(rendered.gpu.concat(rendered.cpu).filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, Object.keys((o as unknown as { data: object }).data)]));

  it.each(OVERLAYS)('%s', (overlay) => {
    const checked: string[] = [];
    for (const w of workloads(rendered[overlay]).filter((w) => w.metadata.name !== 'nats')) {
      for (const c of podSpec(w).spec.containers) {
        const [command, ...args] = c.args!;
        const help = helpOf(command!);
        for (const arg of args) {
          const flag = /^(--[a-z0-9-]+)/.exec(arg)?.[1];
          expect(flag, `${w.metadata.name}: '${arg}' is not a --flag`).toBeDefined();
          expect(help.flags.has(flag!), `${w.metadata.name}: infermesh ${command} has no ${flag} (it has ${[...help.flags].join(' ')})`).toBe(true);
          checked.push(flag!);
        }
        const variables = [...(c.env ?? []).map((e) => e.name), ...(c.envFrom ?? []).flatMap((e) => configMaps.get(e.configMapRef!.name) ?? [])];
        for (const v of variables) {
          const used = help.env.has(v) || args.some((a) => a.includes(`$(${v})`));
          expect(used, `${w.metadata.name}: infermesh ${command} reads no ${v} (it reads ${[...help.env].join(' ')})`).toBe(true);
        }
      }
    }
    expect(checked.length).toBeGreaterThan(15);
  });

  it('the check would catch a flag the service lacks', () => {
    expect(helpOf('inference').flags.has('--grpc-port')).toBe(true);
    expect(helpOf('inference').flags.has('--no-such-flag')).toBe(false);
    expect(helpOf('registry').env.has('INFERMESH_DATABASE')).toBe(true);
  });
});

/** One stage of the Dockerfile: its name and instructions in order. */
interface Stage {
  name: string;
  steps: Array<{ op: string; args: string }>;
}

function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, rest] = /^(\w+)\s+(.*)$/.exec(line)!;
    if (op === 'FROM') stages.push({ name: /\sAS\s+(\S+)/i.exec(rest!)?.[1] ?? String(stages.length), steps: [] });
    else if (stages.length === 0 && op === 'ARG') {
      const [k, v] = rest!.split('=');
      args[k!] = v ?? '';
    } else stages.at(-1)!.steps.push({ op: op!, args: rest! });
  }
  return { args, stages };
}

describe('the Dockerfile, run in clean folders the way the image build runs it', () => {
  const made: string[] = [];
  afterAll(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const { args, stages } = parseDockerfile(dockerfile);

  it('is multi-stage, installs production dependencies only in the runtime, runs as a non-root user, and documents ONNXRUNTIME_NODE_INSTALL', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    expect(args.NODE_IMAGE).toMatch(/^node:20/);
    const runtime = stages[1]!.steps;
    expect(runtime.some((s) => s.op === 'RUN' && /npm ci --omit=dev/.test(s.args))).toBe(true);
    expect(runtime.find((s) => s.op === 'USER')?.args).toMatch(/^10001/);
    expect(runtime.some((s) => s.op === 'ARG' && s.args.startsWith('ONNXRUNTIME_NODE_INSTALL='))).toBe(true);
    expect(dockerfile).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    // The manifests run the image as that user.
    for (const w of workloads(rendered.cpu).filter((w) => w.metadata.name !== 'nats')) {
      expect((podSpec(w).spec as unknown as { securityContext: { runAsUser: number } }).securityContext.runAsUser).toBe(10001);
    }
  });

  it(
    'the build stage builds dist/ from what it COPYs; the runtime stage, from its COPYs alone, starts a registry that answers health SERVING',
    async () => {
      const folders: Record<string, string> = {};
      const skipped: string[] = [];
      for (const stage of stages) {
        const root = mkdtempSync(join(tmpdir(), `infermesh-docker-${stage.name}-`));
        made.push(root);
        folders[stage.name] = root;
        let workdir = root;
        const env: Record<string, string> = { ...(process.env as Record<string, string>) };
        for (const { op, args: a } of stage.steps) {
          if (op === 'WORKDIR') continue; // the stage's folder is its WORKDIR
          if (op === 'ENV') {
            const [k, v] = a.split('=');
            if (k !== 'INFERMESH_DATA_DIR') env[k!] = v!;
          } else if (op === 'COPY') {
            const parts = a.split(/\s+/);
            const from = parts[0]!.startsWith('--from=') ? folders[parts.shift()!.slice('--from='.length)] : ROOT;
            expect(from, a).toBeDefined();
            const dest = parts.pop()!;
            for (const src of parts) {
              const source = from === ROOT ? join(ROOT, src) : join(from!, src.replace(/^\/src\/?/, ''));
              expect(existsSync(source), `COPY ${src}: missing`).toBe(true);
              const target = dest.endsWith('/') ? join(workdir, dest, src.split('/').pop()!) : resolve(workdir, dest);
              cpSync(source, target, { recursive: true });
            }
          } else if (op === 'RUN') {
            if (/^npm ci\b/.test(a)) {
              // No registry here: the installed dependencies stand in for `npm ci` (and the rebuild of native ones).
              symlinkSync(join(ROOT, 'node_modules'), join(workdir, 'node_modules'));
              skipped.push(a);
            } else if (/^groupadd\b/.test(a)) {
              skipped.push(a); // users are the image's business, not this machine's
            } else {
              execFileSync('bash', ['-c', a], { cwd: workdir, env, stdio: 'pipe' });
            }
          }
        }
      }
      expect(skipped).toHaveLength(3); // npm ci in both stages, groupadd
      expect(existsSync(join(folders.build!, 'dist', 'cli', 'main.js'))).toBe(true);
      const runtime = folders.runtime!;
      expect(existsSync(join(runtime, 'src'))).toBe(false);
      expect(existsSync(join(runtime, 'services'))).toBe(false); // only dist/ and protos/ went in

      // ENTRYPOINT ["node", "dist/cli/main.js"] from the runtime folder: a registry that finds its protos and serves health.
      const entry = JSON.parse(/ENTRYPOINT\s+(\[.*\])/.exec(dockerfile)![1]!) as string[];
      expect(entry).toEqual(['node', 'dist/cli/main.js']);
      const nats = await startNats();
      const data = mkdtempSync(join(tmpdir(), 'infermesh-docker-data-'));
      made.push(data);
      const registry = await spawnService(['registry', '--grpc-port', '0', '--data-dir', data, '--nats', nats.url], { cli: join(runtime, entry[1]!) });
      try {
        expect(await eventually(() => healthCheck(registry.endpoints.grpc!), 'registry SERVING')).toBe('SERVING');
      } finally {
        await registry.stop();
        await nats.close();
      }
    },
    240_000,
  );
});
