"""跨部门协作: a request to other departments, each head accepting (and naming an owner) or refusing."""
