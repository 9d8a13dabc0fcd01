// English strings of the groups screens. Keys are "groups.<name>"; {x} is a parameter.
export default {
} as Record<string, string>;
