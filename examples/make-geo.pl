#!/usr/bin/perl
# make-geo.pl FILE: writes a small, FICTITIOUS country and AS database for
# the example export, in the flat schema of the ip-location-db files
# (country_code, autonomous_system_number, autonomous_system_organization),
# with MaxMind's own writer.  Every public IPv4 /8 gets a country and a
# network chosen by a fixed rule, so `make demo` can show the countries of
# external sources without shipping or fetching real geolocation data.  Do
# not use it on real evidence: use `make geo-db` or MaxMind's files.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $file = shift or die "usage: make-geo.pl FILE\n";
my @cc = qw(US DE GB FR NL CN RU BR IN JP KR SG AU CA SE PL UA TR VN ZA);
my $tree = MaxMind::DB::Writer::Tree->new(
	ip_version => 6,
	record_size => 24,
	database_type => 'fl-tools-example-country-asn',
	languages => ['en'],
	description => { en => 'fictitious country and AS data for the fl-tools example export' },
	map_key_type_callback => sub {
		{ country_code => 'utf8_string', autonomous_system_number => 'uint32',
		  autonomous_system_organization => 'utf8_string' }->{ $_[0] }
	},
	alias_ipv6_to_ipv4 => 1,
	remove_reserved_networks => 0,
);
for my $o (1 .. 223) {
	next if $o == 10 || $o == 127;
	my $i = ($o * 7 + 3) % @cc;
	$tree->insert_network("$o.0.0.0/8", {
		country_code => $cc[$i],
		autonomous_system_number => 64500 + $o % 23,
		autonomous_system_organization => sprintf('Example Net %02d (%s)', $o % 23, $cc[$i]),
	});
}
open my $fh, '>:raw', $file or die "$file: $!\n";
$tree->write_tree($fh);
close $fh or die "$file: $!\n";
