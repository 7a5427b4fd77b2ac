/**
 * The one Pulumi mocks module of the unit tests (pulumi.runtime.setMocks must run once, before any
 * resource is created; import this module first). Records every resource with its inputs, so tests
 * can look at what a component would create without an engine or a cloud account.
 */
import * as pulumi from "@pulumi/pulumi";

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

export const recorded: RecordedResource[] = [];

pulumi.runtime.setMocks({
  newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
    recorded.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
    // commands report what they ran on stdout
    const state = args.type.startsWith("command:") ? { ...args.inputs, stdout: `ran ${args.name}`, stderr: "" } : args.inputs;
    return { id: `${args.name}-id`, state };
  },
  call(args: pulumi.runtime.MockCallArgs) {
    return args.inputs;
  },
}, "dhis2", "unit", false);

/** Resolve an Output in a test. */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => { resolve(v); return v; }));
}

/** Resources of a type (e.g. "command:local:Command") whose name starts with a prefix. */
export function resourcesOf(type: string, namePrefix = ""): RecordedResource[] {
  return recorded.filter((r) => r.type === type && r.name.startsWith(namePrefix));
}

/** Let the mock engine register everything created so far. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 50));
}

/** The secret marker of Pulumi's wire format, as mocks receive secret inputs. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** True when a recorded input is a secret value. */
export function isSecret(v: unknown): boolean {
  return typeof v === "object" && v !== null && SECRET_SIG in v;
}

/** The plain value of a recorded input, secret or not. */
export function plain<T>(v: unknown): T {
  return (isSecret(v) ? (v as { value: unknown }).value : v) as T;
}
