// What a lesson or exercise needs from the host (`requires:`), and whether a
// given host has it. The host's facts are probed elsewhere and handed in.
import { z } from 'zod';
import type { Lesson } from './model.js';

/** Kernel features a lesson may require, with how a learner would call them. */
export const FEATURES = {
  macvlan: 'macvlan network interfaces',
  ipvlan: 'ipvlan network interfaces',
  dummy: 'dummy network interfaces',
  vxlan: 'VXLAN network interfaces',
  veth: 'veth pairs',
  bridge: 'network bridges',
  nat: 'iptables NAT',
  overlay: 'the overlay filesystem',
  'overlay-opaque': 'opaque directories in an overlay of a user namespace (tmpfs keeping user extended attributes, Linux 6.6 or later)',
  'user-namespaces': 'user namespaces',
  'time-namespaces': 'time namespaces',
  seccomp: 'seccomp filters',
  'cgroup-cpu': 'the cgroup CPU controller',
  docker: 'a Docker engine inside the sandbox',
} as const;

export type Feature = keyof typeof FEATURES;
export const FEATURE_NAMES = Object.keys(FEATURES) as Feature[];

export function isFeature(name: string): name is Feature {
  return Object.hasOwn(FEATURES, name);
}

export const requirementsSchema = z.strictObject({
  cgroup: z.enum(['v1', 'v2'], { error: 'cgroup must be v1 or v2' }).optional(),
  features: z
    .array(z.string().refine(isFeature, { error: (issue) => `unknown feature "${String(issue.input)}" (known: ${FEATURE_NAMES.join(', ')})` }))
    .optional(),
});

export interface Requirements {
  cgroup?: 'v1' | 'v2';
  features?: Feature[];
}

/** What the host offers a sandbox, as probed (see server/checks/probe.ts). */
export interface HostFacts {
  cgroupVersion: 1 | 2;
  features: ReadonlySet<Feature>;
}

/** Why this host cannot meet `requires`, in words for a learner; undefined when it can. */
export function unmetRequirements(requires: Requirements, host: HostFacts): string | undefined {
  const reasons: string[] = [];
  if (requires.cgroup && requires.cgroup !== `v${host.cgroupVersion}`) {
    reasons.push(`cgroup ${requires.cgroup}, and this host runs cgroup v${host.cgroupVersion}`);
  }
  const missing = (requires.features ?? []).filter((f) => !host.features.has(f));
  if (missing.length) reasons.push(`${listOf(missing.map((f) => FEATURES[f]))}, which this host's kernel lacks`);
  return reasons.length ? `needs ${reasons.join('; and ')}` : undefined;
}

/** What `requires` asks of a host, in words, for the catalogue ("the overlay filesystem", "cgroup v2"). */
export function describeRequirements(requires: Requirements): string[] {
  return [...(requires.features ?? []).map((f) => FEATURES[f]), ...(requires.cgroup ? [`cgroup ${requires.cgroup}`] : [])];
}

/** Why the lesson, or one of its exercises, cannot run on this host. */
export function availability(lesson: Lesson, host: HostFacts): { lesson?: string; exercises: Record<string, string> } {
  const lessonReason = unmetRequirements(lesson.requires, host);
  const exercises: Record<string, string> = {};
  for (const ex of lesson.exercises) {
    const reason = lessonReason ?? unmetRequirements(ex.requires, host);
    if (reason) exercises[ex.id] = reason;
  }
  return { ...(lessonReason ? { lesson: lessonReason } : {}), exercises };
}

function listOf(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
