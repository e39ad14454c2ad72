// Which process listens on a port of this host, so that a server that needs the port can say
// who holds it (the dev server checks every port of a stack before it starts anything).
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";

/** Whether a server could listen on 127.0.0.1:`port` now (where the dev server's nodes listen). */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

export interface PortHolder {
  pid: number;
  /** Its parent's pid. */
  ppid: number;
  /** The program's name (/proc/<pid>/comm). */
  name: string;
  /** Its command line. */
  argv: string[];
  /** Its working directory: what relative paths in argv are relative to. */
  cwd?: string;
}

/**
 * The process listening on TCP `port` (any address), from Linux's /proc: the listening socket's
 * inode in /proc/net/tcp{,6}, then the process with a file descriptor on that socket. Undefined
 * elsewhere, or when the holder is another user's process this one may not inspect.
 */
export function portHolder(port: number): PortHolder | undefined {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.trim().split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; field 9 the socket's inode.
      if (fields[3] === "0A" && parseInt(fields[1].split(":")[1], 16) === port) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of safeList("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fdDir = `/proc/${entry}/fd`;
    for (const fd of safeList(fdDir)) {
      let target: string;
      try {
        target = readlinkSync(`${fdDir}/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) return describeProcess(Number(entry));
    }
  }
  return undefined;
}

function describeProcess(pid: number): PortHolder | undefined {
  try {
    // stat: "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const name = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    let cwd: string | undefined;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      cwd = undefined;
    }
    return { pid, ppid, name, argv, cwd };
  } catch {
    return undefined;
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
