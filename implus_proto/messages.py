"""IMPlus message classes. GENERATED from schemas/ by `python -m implus_proto.codegen`: do not edit."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ['ClientList', 'ClientListEntry', 'KeyHolder', 'NormalToClient', 'NormalToServer', 'Offline', 'Online', 'SelfOffline']
MESSAGE_CLASSES = ('ClientList', 'NormalToClient', 'NormalToServer', 'Offline', 'Online', 'SelfOffline')

@dataclass(frozen=True, slots=True, kw_only=True)
class ClientListEntry:
    'ClientListEntry: One online client. It always carries its public key.'

    id: int
    user_name: str
    prublic_key: str | None = None
    public_key: str | None = None

    @classmethod
    def _from_json(cls, o: dict[str, Any]) -> ClientListEntry:
        return cls(id=o['id'], user_name=o['user_name'], prublic_key=o.get('prublic_key'), public_key=o.get('public_key'))

    def _to_json(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        o['id'] = self.id
        o['user_name'] = self.user_name
        if self.prublic_key is not None:
            o['prublic_key'] = self.prublic_key
        if self.public_key is not None:
            o['public_key'] = self.public_key
        return o

@dataclass(frozen=True, slots=True, kw_only=True)
class ClientList:
    "client_list: The server's list of every online client with its public key, routing key = each recipient's user_id. Sent to every online client when one comes, and to every remaining client when one goes. Each entry's key is spelled as the recipient spelled its own key in its online message."

    type: str = 'client_list'
    created_at: int | str
    message: tuple[ClientListEntry, ...]

    TYPE: ClassVar[str] = 'client_list'
    DIRECTION: ClassVar[str] = 'server-to-client'
    SCHEMA_ID: ClassVar[str] = 'https://implus.invalid/schemas/v1/client_list.json'

    @classmethod
    def _from_json(cls, o: dict[str, Any]) -> ClientList:
        return cls(type=o['type'], created_at=o['created_at'], message=tuple([ClientListEntry._from_json(x) for x in o['message']]))

    def _to_json(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        o['type'] = self.type
        o['created_at'] = self.created_at
        o['message'] = [x._to_json() for x in self.message]
        return o

@dataclass(frozen=True, slots=True, kw_only=True)
class NormalToClient:
    "normal (server to client): A chat message the server forwards to its recipient, routing key = the recipient's user_id. from, from_id and destination come from the server's registry; user_id is always empty so that no client learns another's routing key."

    type: str = 'normal'
    from_: str
    from_id: int
    user_id: str = ''
    destination: str
    destination_id: int
    created_at: int | str
    message: str

    TYPE: ClassVar[str] = 'normal'
    DIRECTION: ClassVar[str] = 'server-to-client'
    SCHEMA_ID: ClassVar[str] = 'https://implus.invalid/schemas/v1/normal.to-client.json'

    @classmethod
    def _from_json(cls, o: dict[str, Any]) -> NormalToClient:
        return cls(type=o['type'], from_=o['from'], from_id=o['from_id'], user_id=o['user_id'], destination=o['destination'], destination_id=o['destination_id'], created_at=o['created_at'], message=o['message'])

    def _to_json(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        o['type'] = self.type
        o['from'] = self.from_
        o['from_id'] = self.from_id
        o['user_id'] = self.user_id
        o['destination'] = self.destination
        o['destination_id'] = self.destination_id
        o['created_at'] = self.created_at
        o['message'] = self.message
        return o

@dataclass(frozen=True, slots=True, kw_only=True)
class NormalToServer:
    "normal (client to server): A chat message a client sends to the server for one recipient, routing key 'server'. The server trusts none of from, destination: it fills them from its own registry."

    type: str = 'normal'
    from_: str
    user_id: str
    destination: str
    destination_id: int
    created_at: int | str
    message: str

    TYPE: ClassVar[str] = 'normal'
    DIRECTION: ClassVar[str] = 'client-to-server'
    SCHEMA_ID: ClassVar[str] = 'https://implus.invalid/schemas/v1/normal.to-server.json'

    @classmethod
    def _from_json(cls, o: dict[str, Any]) -> NormalToServer:
        return cls(type=o['type'], from_=o['from'], user_id=o['user_id'], destination=o['destination'], destination_id=o['destination_id'], created_at=o['created_at'], message=o['message'])

    def _to_json(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        o['type'] = self.type
        o['from'] = self.from_
        o['user_id'] = self.user_id
        o['destination'] = self.destination
        o['destination_id'] = self.destination_id
        o['created_at'] = self.created_at
        o['message'] = self.message
        return o

@dataclass(frozen=True, slots=True, kw_only=True)
class Offline:
    "offline: A client leaves, routing key 'system' (servers also accept 'server')."

    type: str = 'offline'
    from_: str
    user_id: str
    created_at: int | str
    message: str

    TYPE: ClassVar[str] = 'offline'
    DIRECTION: ClassVar[str] = 'client-to-server'
    SCHEMA_ID: ClassVar[str] = 'https://implus.invalid/schemas/v1/offline.json'

    @classmethod
    def _from_json(cls, o: dict[str, Any]) -> Offline:
        return cls(type=o['type'], from_=o['from'], user_id=o['user_id'], created_at=o['created_at'], message=o['message'])

    def _to_json(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        o['type'] = self.type
        o['from'] = self.from_
        o['user_id'] = self.user_id
        o['created_at'] = self.created_at
        o['message'] = self.message
        return o

@dataclass(frozen=True, slots=True, kw_only=True)
class KeyHolder:
    'KeyHolder: An object that carries one public key, spelled either prublic_key (the seed document) or public_key (the 2014 code), never both.'

    prublic_key: str | None = None
    public_key: str | None = None

    @classmethod
    def _from_json(cls, o: dict[str, Any]) -> KeyHolder:
        return cls(prublic_key=o.get('prublic_key'), public_key=o.get('public_key'))

    def _to_json(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        if self.prublic_key is not None:
            o['prublic_key'] = self.prublic_key
        if self.public_key is not None:
            o['public_key'] = self.public_key
        return o

@dataclass(frozen=True, slots=True, kw_only=True)
class Online:
    "online: A client announces itself and its public key, routing key 'system' (servers also accept 'server'). The client MUST have bound its queue before it sends this."

    type: str = 'online'
    from_: str
    user_id: str
    created_at: int | str
    message: KeyHolder

    TYPE: ClassVar[str] = 'online'
    DIRECTION: ClassVar[str] = 'client-to-server'
    SCHEMA_ID: ClassVar[str] = 'https://implus.invalid/schemas/v1/online.json'

    @classmethod
    def _from_json(cls, o: dict[str, Any]) -> Online:
        return cls(type=o['type'], from_=o['from'], user_id=o['user_id'], created_at=o['created_at'], message=KeyHolder._from_json(o['message']))

    def _to_json(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        o['type'] = self.type
        o['from'] = self.from_
        o['user_id'] = self.user_id
        o['created_at'] = self.created_at
        o['message'] = self.message._to_json()
        return o

@dataclass(frozen=True, slots=True, kw_only=True)
class SelfOffline:
    'self_offline: A client tells its own consumer to stop, routing key = its own user_id. It never goes to the server.'

    type: str = 'self_offline'
    from_: str
    user_id: str
    created_at: int | str
    message: str

    TYPE: ClassVar[str] = 'self_offline'
    DIRECTION: ClassVar[str] = 'client-to-itself'
    SCHEMA_ID: ClassVar[str] = 'https://implus.invalid/schemas/v1/self_offline.json'

    @classmethod
    def _from_json(cls, o: dict[str, Any]) -> SelfOffline:
        return cls(type=o['type'], from_=o['from'], user_id=o['user_id'], created_at=o['created_at'], message=o['message'])

    def _to_json(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        o['type'] = self.type
        o['from'] = self.from_
        o['user_id'] = self.user_id
        o['created_at'] = self.created_at
        o['message'] = self.message
        return o
