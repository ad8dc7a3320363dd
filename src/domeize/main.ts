// Placeholder until its issue lands.
process.stderr.write("not implemented yet\n");
process.exit(1);
