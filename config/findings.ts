// What a check of the stack config reports: where (a path into the raw config) and what is wrong.
// config/load.ts turns findings into the problems a person reads.

export type Path = (string | number)[];

export interface Finding {
  path: Path;
  message: string;
}
