/**
 * JVM heap and database connection pool per DHIS2 instance.
 *
 * available = memory − process overhead (the OS of a VM: memory/16, 512 MB to 2 GB; the container's
 * own services: memory/32, 128 to 512 MB).
 *
 * - A VM of its own (isolation vm): half of it is the heap. The DHIS2 installation guide splits a
 *   server equally between PostgreSQL and the JVM and leaves about 2 GB to the OS; on a DHIS2 VM the
 *   other half is for what is not heap (metaspace, code cache, thread stacks, glowroot, direct
 *   buffers) and for the page cache (file store, apps, logs, exports). A 32 GB VM: 15 GB of heap
 *   (it used to be 26 GB, which left the page cache nearly nothing).
 * - A container (isolation lxd): available − non-heap (25% of available, 512 MB to 4 GB); the page
 *   cache of the host is shared and the database has its own container.
 *
 * Rounded down to 64 MB and capped at 31 GB so the JVM keeps compressed object pointers.
 *
 * pool = DHIS2 connection.pool.max_size: 4 per database CPU, from 20 to DHIS2's default of 80.
 */
import type { ConfigProblem, InstanceConfig } from "../config/model";
import type { RoleBudget } from "./sizing";
import { clamp, floorTo } from "./units";

/** Largest heap that keeps compressed oops (just under 32 GB). */
export const MAX_HEAP_MB = 31 * 1024;
export const MIN_HEAP_MB = 768;

export interface JvmPlan {
  readonly heapMb: number;
  /** true when the stack set heapMb. */
  readonly heapFromStack: boolean;
  /** Memory left to the JVM outside the heap. */
  readonly nonHeapMb: number;
  readonly poolMaxSize: number;
  /** CPUs the JVM should size its thread pools for. */
  readonly activeProcessorCount: number;
  /** JAVA_OPTS as one line. */
  readonly javaOpts: string;
}

/** Memory a host keeps for everything but the main process. */
export function processOverheadMb(memoryMb: number, isolation: "lxd" | "vm"): number {
  return isolation === "vm" ? floorTo(clamp(memoryMb / 16, 512, 2048), 64) : floorTo(clamp(memoryMb / 32, 128, 512), 64);
}

/** The computed heap from the memory left after the process overhead (see the top of this file). */
export function derivedHeapMb(availableMb: number, isolation: "lxd" | "vm"): number {
  const nonHeap = floorTo(clamp(availableMb * 0.25, 512, 4096), 64);
  return Math.min(MAX_HEAP_MB, floorTo(isolation === "vm" ? availableMb / 2 : availableMb - nonHeap, 64));
}

export function defaultPoolSize(databaseCpus: number): number {
  return clamp(Math.round(databaseCpus * 4), 20, 80);
}

export function planJvm(
  instance: InstanceConfig,
  index: number,
  budget: RoleBudget,
  databaseCpus: number,
  isolation: "lxd" | "vm",
): { jvm?: JvmPlan; problems: ConfigProblem[] } {
  const available = budget.memoryMb - processOverheadMb(budget.memoryMb, isolation);
  const derived = derivedHeapMb(available, isolation);
  const problems: ConfigProblem[] = [];
  const maxHeap = Math.min(MAX_HEAP_MB, available - 512);
  if (instance.heapMb !== undefined && instance.heapMb > maxHeap) {
    problems.push({
      key: `dhis2:instances[${index}].heapMb`,
      value: instance.heapMb,
      message: `does not fit instance ${instance.name}'s ${budget.memoryMb} MB: at most ${maxHeap} MB leaves the JVM 512 MB outside the heap${maxHeap === MAX_HEAP_MB ? " (31 GB also keeps compressed object pointers)" : ""}; remove heapMb to use the computed ${derived} MB`,
    });
  }
  const heapMb = instance.heapMb ?? derived;
  if (instance.heapMb === undefined && derived < MIN_HEAP_MB) {
    problems.push({
      key: `dhis2:instances[${index}].size.memoryGb`,
      value: budget.memoryMb / 1024,
      message: `gives instance ${instance.name} a heap of only ${derived} MB; DHIS2 needs at least ${MIN_HEAP_MB} MB: give it more memory`,
    });
  }
  if (problems.length) return { problems };
  const activeProcessorCount = Math.max(1, Math.ceil(budget.cpus));
  const javaOpts = [
    `-Xms${heapMb}m`,
    `-Xmx${heapMb}m`,
    "-XX:+UseG1GC",
    "-XX:+ExitOnOutOfMemoryError",
    `-XX:ActiveProcessorCount=${activeProcessorCount}`,
    "-Djava.awt.headless=true",
    "-Dfile.encoding=UTF-8",
  ].join(" ");
  return {
    problems,
    jvm: {
      heapMb,
      heapFromStack: instance.heapMb !== undefined,
      nonHeapMb: budget.memoryMb - heapMb,
      poolMaxSize: instance.connectionPoolMaxSize ?? defaultPoolSize(databaseCpus),
      activeProcessorCount,
      javaOpts,
    },
  };
}
