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

/** Resources of a type whose name starts with a prefix (any type when type is empty). */
export function resourcesNamed(prefix: string, type = ""): RecordedResource[] {
  return recorded.filter((r) => r.name.startsWith(prefix) && (!type || r.type === type));
}

export const recorded: RecordedResource[] = [];

/** Addresses the mocked clouds hand out (documentation ranges). */
export const MOCK_PUBLIC_IPV4 = { hcloud: "203.0.113.10", aws: "198.51.100.7" } as const;
export const MOCK_AMI = "ami-0debian12mock";

let nextId = 1000;
pulumi.runtime.setMocks({
  newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
    recorded.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
    // commands report what they ran on stdout
    let state: Record<string, unknown> = args.type.startsWith("command:") ? { ...args.inputs, stdout: `ran ${args.name}`, stderr: "" } : args.inputs;
    if (args.type === "hcloud:index/primaryIp:PrimaryIp") state = { ...state, ipAddress: MOCK_PUBLIC_IPV4.hcloud };
    if (args.type === "aws:ec2/eip:Eip") state = { ...state, publicIp: MOCK_PUBLIC_IPV4.aws };
    if (args.type === "aws:ec2/keyPair:KeyPair") state = { ...state, keyName: args.inputs.keyName };
    // Hetzner ids are numbers
    const id = args.type.startsWith("hcloud:") ? String(nextId++) : `${args.name}-id`;
    return { id, state };
  },
  call(args: pulumi.runtime.MockCallArgs) {
    calls.push({ token: args.token, inputs: args.inputs });
    if (args.token === "aws:ec2/getAmi:getAmi") return { ...args.inputs, id: MOCK_AMI };
    // command.local.run: as if the command printed nothing
    if (args.token === "command:local:run") return { ...args.inputs, stdout: "", stderr: "" };
    return args.inputs;
  },
}, "dhis2", "unit", false);

/** Every invoke (function call) the program made, in order. */
export const calls: { token: string; inputs: Record<string, unknown> }[] = [];

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

export interface RecordedOptions {
  readonly type: string;
  readonly name: string;
  readonly opts: pulumi.ResourceOptions;
}

/**
 * A transformation that records the resource options (protect, retainOnDelete, ignoreChanges, ...)
 * of every resource below the component it is given to. Transformations run in the SDK itself, so
 * they work with mocks, and children inherit them from their parent.
 */
export function optionsRecorder(): { transformation: pulumi.ResourceTransformation; seen: RecordedOptions[] } {
  const seen: RecordedOptions[] = [];
  return {
    seen,
    transformation: (args) => {
      seen.push({ type: args.type, name: args.name, opts: args.opts });
      return undefined;
    },
  };
}
