/**
 * What an update leaves us with: the verified metadata of one GUN, and the
 * lookups notary and docker make on it.
 *
 * Target lookup walks the delegation tree as notary's `WalkTargets` does
 * (tuf/tuf.go): depth-first from `targets`, children in the order their
 * parent lists them, entering a child only when the target name falls under
 * its `paths` and the child lies on the way to, or under, the requested role.
 * So a delegation can never vouch for a name outside its paths.
 */
import type { FileMeta } from '../models/file-meta.js';
import type { DelegatedRole, Metadata, Root, Snapshot, Targets, Timestamp } from '../models/metadata.js';
import type { TrustedMetadataSet } from './trusted-set.js';

export interface TargetWithRole {
  name: string;
  role: string;
  meta: FileMeta;
}

/** docker pull's lookup order (cli/trust: releases role, then the base targets role). */
export const PULL_ROLES = ['targets/releases', 'targets'] as const;

function isUnderOrEqual(role: string, ancestor: string): boolean {
  return role === ancestor || role.startsWith(ancestor + '/');
}

export class TrustedRepository {
  constructor(
    readonly gun: string,
    private readonly set: TrustedMetadataSet,
    /** Raw bytes of each trusted file by role, as served. */
    readonly files: Readonly<Record<string, Uint8Array>>,
  ) {}

  get root(): Metadata<Root> {
    return this.set.root;
  }
  get timestamp(): Metadata<Timestamp> {
    return this.set.timestamp!;
  }
  get snapshot(): Metadata<Snapshot> {
    return this.set.snapshot!;
  }
  get targets(): Metadata<Targets> {
    return this.set.targets!;
  }
  /** A loaded targets role (`targets` or a delegation that verified). */
  role(name: string): Metadata<Targets> | undefined {
    return this.set.delegated(name);
  }

  /** Every loaded targets role, in walk order. */
  roles(): string[] {
    const out: string[] = [];
    this.walkFor(undefined, 'targets', (role) => {
      out.push(role);
      return false;
    });
    return out;
  }

  /**
   * Find a target as notary's GetTargetByName does: for each role in order,
   * walk the part of the tree that leads to it, and return the first match.
   */
  lookupTarget(name: string, roles: readonly string[] = PULL_ROLES): TargetWithRole | undefined {
    for (const wanted of roles) {
      let found: TargetWithRole | undefined;
      this.walkFor(name, wanted, (role, md) => {
        const meta = md.signed.targets[name];
        if (meta) found = { name, role, meta };
        return found !== undefined;
      });
      if (found) return found;
    }
    return undefined;
  }

  /**
   * docker pull's resolution (cli/command/image/trust.go): notary's lookup
   * over `targets/releases` then `targets`, accepted only when the role that
   * signed it is one of those two. A tag signed only in `targets/<user>` is
   * therefore not pulled.
   */
  lookupForPull(name: string): TargetWithRole | undefined {
    const found = this.lookupTarget(name, PULL_ROLES);
    return found && (PULL_ROLES as readonly string[]).includes(found.role) ? found : undefined;
  }

  /**
   * Every target, each under the first role that lists it in walk order
   * (notary ListTargets), optionally restricted to some roles.
   */
  listTargets(roles: readonly string[] = ['targets']): TargetWithRole[] {
    const out = new Map<string, TargetWithRole>();
    for (const wanted of roles) {
      this.walkFor(undefined, wanted, (role, md, delegation) => {
        for (const [name, meta] of Object.entries(md.signed.targets)) {
          // notary ListTargets skips names outside the role's delegated paths.
          if (delegation && !delegation.matches(name)) continue;
          if (!out.has(name)) out.set(name, { name, role, meta });
        }
        return false;
      });
    }
    return [...out.values()];
  }

  private walkFor(
    name: string | undefined,
    wanted: string,
    visit: (role: string, md: Metadata<Targets>, delegation: DelegatedRole | undefined) => boolean,
  ): void {
    const stack: Array<{ role: string; delegation: DelegatedRole | undefined }> = [
      { role: 'targets', delegation: undefined },
    ];
    const seen = new Set<string>();
    while (stack.length > 0) {
      const { role, delegation } = stack.shift()!;
      if (seen.has(role)) continue; // a delegation graph with a cycle is walked once
      seen.add(role);
      const md = this.set.delegated(role);
      if (!md) continue;
      if (isUnderOrEqual(role, wanted) && visit(role, md, delegation)) return;
      const children: Array<{ role: string; delegation: DelegatedRole }> = [];
      for (const child of md.signed.delegations.roles) {
        // Enter a child only on the way to `wanted` or below it, and only if
        // the name falls under the child's paths.
        const onPath = isUnderOrEqual(wanted, child.name) || isUnderOrEqual(child.name, wanted);
        if (!onPath) continue;
        if (name !== undefined && !child.matches(name)) continue;
        children.push({ role: child.name, delegation: child });
      }
      stack.unshift(...children);
    }
  }
}
