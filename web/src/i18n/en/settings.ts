// English strings of the settings screens. Keys are "settings.<name>"; {x} is a parameter.
export default {
} as Record<string, string>;
