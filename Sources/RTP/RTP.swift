// RTP (RFC 3550/8285/4588) packet model, header extensions, codecs.
