# frozen_string_literal: true

# Real Doorkeeper 5.5 (Debian's ruby-doorkeeper) in a one-file Rails 6.1 API
# app, configured like PayU's token server. See README.md beside this file.
# Everything it needs comes from Debian packages; nothing is downloaded.

require "json"
require "digest"
require "tmpdir"
require "logger"

REVOCATION = ENV.fetch("PEER_REVOCATION", "on-use")
unless %w[on-use at-refresh].include?(REVOCATION)
  warn "error: PEER_REVOCATION=#{REVOCATION} is not known; use on-use or at-refresh"
  exit 2
end

# On tmpfs where there is one: the database is thrown away at exit, so
# fsync buys nothing.
DB_DIR = Dir.mktmpdir("doorkeeper-peer", File.directory?("/dev/shm") ? "/dev/shm" : nil)
at_exit { FileUtils.rm_rf(DB_DIR) }
ENV["DATABASE_URL"] = "sqlite3:#{File.join(DB_DIR, 'peer.sqlite3')}?timeout=5000&pool=8"
ENV["RAILS_ENV"] = "production"

require "rails"
require "active_record/railtie"
require "action_controller/railtie"
require "doorkeeper"
require "puma"
require "puma/server"

# Deterministic seed: the same credentials on every start.
def seeded(label)
  Digest::SHA256.hexdigest("doorkeeper-peer:#{label}")
end

# PayU's time-ordered layout of a version-1 UUID: 4-4-8-4-12.
def ordered_uuid(label)
  h = seeded(label)
  "#{h[0, 4]}-#{h[4, 4]}-#{h[8, 8]}-#{h[16, 4]}-#{h[20, 12]}"
end

class PeerApp < Rails::Application
  config.root = __dir__
  config.api_only = true
  config.eager_load = false
  config.consider_all_requests_local = false
  config.secret_key_base = seeded("secret_key_base")
  config.logger = Logger.new($stderr, level: Logger::WARN)
  config.log_level = :warn
  config.hosts.clear
end

Doorkeeper.configure do
  orm :active_record
  use_refresh_token
  access_token_expires_in 7200
  default_scopes :hub_session
  grant_flows %w[password refresh_token]
  default_generator_method :hex

  resource_owner_from_credentials do |_routes|
    user = User.find_by(username: params[:username].to_s)
    user if user && ActiveSupport::SecurityUtils.secure_compare(user.password, params[:password].to_s)
  end
end

# PayU's own addition: `user_uuid` after `created_at` in every token body.
module PayuUserUuid
  def body
    owner = User.find_by(id: token.resource_owner_id)
    owner ? super.merge("user_uuid" => owner.uuid) : super
  end
end

PeerApp.initialize!
Doorkeeper::OAuth::TokenResponse.prepend(PayuUserUuid)

ActiveRecord::Migration.verbose = false
ActiveRecord::Schema.define do
  create_table :users do |t|
    t.string :username, null: false
    t.string :password, null: false
    t.string :uuid, null: false
  end

  create_table :oauth_applications do |t|
    t.string  :name,    null: false
    t.string  :uid,     null: false
    t.string  :secret,  null: false
    t.text    :redirect_uri
    t.string  :scopes,       null: false, default: ""
    t.boolean :confidential, null: false, default: true
    t.timestamps             null: false
  end
  add_index :oauth_applications, :uid, unique: true

  create_table :oauth_access_grants do |t|
    t.references :resource_owner,  null: false
    t.references :application,     null: false
    t.string   :token,             null: false
    t.integer  :expires_in,        null: false
    t.text     :redirect_uri,      null: false
    t.datetime :created_at,        null: false
    t.datetime :revoked_at
    t.string   :scopes,            null: false, default: ""
  end

  # Doorkeeper 5.5's own migration template, with the one line it says to
  # comment out "if you want refresh tokens to be instantly revoked after use".
  create_table :oauth_access_tokens do |t|
    t.references :resource_owner, index: true
    t.references :application,    null: false
    t.string   :token, null: false
    t.string   :refresh_token
    t.integer  :expires_in
    t.datetime :revoked_at
    t.datetime :created_at, null: false
    t.string   :scopes
    t.string   :previous_refresh_token, null: false, default: "" if REVOCATION == "on-use"
  end
  add_index :oauth_access_tokens, :token, unique: true
  add_index :oauth_access_tokens, :refresh_token, unique: true
end

class User < ActiveRecord::Base; end

# The protected resource: using an access token here is what revokes the
# refresh token it was issued from (in the on-use configuration).
class MeController < ActionController::API
  before_action :doorkeeper_authorize!

  def show
    render json: { "user_uuid" => User.find(doorkeeper_token.resource_owner_id).uuid }
  end
end

PeerApp.routes.draw do
  use_doorkeeper do
    skip_controllers :authorizations, :applications, :authorized_applications, :token_info
  end
  get "/api/me", to: "me#show"
end

user = User.create!(username: "peer-user", password: seeded("user-password")[0, 24],
                    uuid: ordered_uuid("user-uuid"))
clients = [["public", false], ["confidential", true]].map do |kind, confidential|
  app = Doorkeeper::Application.create!(
    name: "payu-#{kind}", uid: seeded("#{kind}-client-id"), secret: seeded("#{kind}-client-secret"),
    redirect_uri: "", scopes: "hub_session", confidential: confidential,
  )
  token = Doorkeeper::AccessToken.create!(
    application_id: app.id, resource_owner_id: user.id, scopes: "hub_session",
    expires_in: 7200, use_refresh_token: true,
  )
  # Seeded values in place of the random ones, so a start can be reproduced.
  token.update_columns(token: seeded("#{kind}-access-token"), refresh_token: seeded("#{kind}-refresh-token"))
  { "kind" => kind, "client_id" => app.uid, "client_secret" => app.secret,
    "refresh_token" => token.refresh_token }
end

# One request at a time through the app. A production database orders two
# refreshes of one token with its row lock (`refresh_token.lock!`); SQLite
# has no row locks, and two concurrent write transactions there fail with
# "database is locked" (a 500 that is SQLite's, not Doorkeeper's). Requests
# are still accepted concurrently; the loser of a race then sees the token
# revoked, as it would after a row lock.
class OneAtATime
  def initialize(app)
    @app = app
    @lock = Mutex.new
  end

  def call(env)
    @lock.synchronize { @app.call(env) }
  end
end

server = Puma::Server.new(OneAtATime.new(PeerApp), Puma::Events.null, min_threads: 0, max_threads: 6)
listener = server.add_tcp_listener("127.0.0.1", Integer(ENV.fetch("PEER_PORT", "0")))
port = listener.addr[1]
thread = server.run

$stdout.puts JSON.generate(
  "token_url" => "http://127.0.0.1:#{port}/oauth/token",
  "resource_url" => "http://127.0.0.1:#{port}/api/me",
  "profile" => "doorkeeper-5.5",
  "revocation" => REVOCATION,
  "fixtures" => {
    "clients" => clients,
    "user" => { "username" => user.username, "password" => user.password, "scope" => "hub_session" },
  },
)
$stdout.flush

# Exit when the parent goes away (its end of our stdin closes), or on a signal.
Thread.new do
  $stdin.read
  server.stop(true)
end
%w[INT TERM].each { |sig| trap(sig) { Thread.new { server.stop(true) } } }
thread.join
